"""infra/ must agree with the app, the image and the deploy workflow.

Terraform cannot validate here (no provider can be downloaded), so these tests read the
configuration with python-hcl2 and check what would otherwise only fail in AWS.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.config import ConfigError, load_settings

from .terraform import Configuration, load

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"

#: A value for each secret the task reads from Secrets Manager, long enough for production.
SECRET_VALUES = {
    "JWT_SECRET": "j" * 64,
    "ROOT_PASSWORD": "root-password-from-secrets-manager",
    "DATABASE_PASSWORD": "p@ss:w/rd#from?rds",
}
#: What RDS makes of the URL's format() call, with made-up host and port.
RDS_URL = "mysql+pymysql://activity_recommender@db.example.internal:3306/activity_recommender"


@pytest.fixture(scope="module")
def infra() -> Configuration:
    return load(INFRA)


def dockerfile_env() -> dict[str, str]:
    """Return the runtime stage's ENV settings from the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text()
    runtime = text.rsplit("\nFROM ", 1)[1]
    env_block = re.search(r"^ENV (.+?)(?<!\\)\n", runtime, re.MULTILINE | re.DOTALL)
    assert env_block is not None
    pairs = re.findall(r"([A-Z_]+)=(\S+)", env_block.group(1))
    return dict(pairs)


def task_environment(infra: Configuration) -> dict[str, str]:
    """Return the task's environment with default variables, as Terraform would render it."""
    environment = {name: infra.resolve(value) for name, value in infra.locals["app_environment"].items()}
    metrics = infra.locals["metrics_environment"]
    # metrics_port defaults to null, which picks the first map of the conditional.
    assert infra.variables["metrics_port"]["default"] is None
    assert metrics.startswith('${var.metrics_port == null ? {METRICS_ENABLED = "false"}')
    environment["METRICS_ENABLED"] = "false"
    return environment


def test_health_check_path_is_the_apps_liveness_probe(infra: Configuration) -> None:
    spec = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text())
    target_group = infra.resource("aws_lb_target_group", "app")

    path = infra.resolve(target_group["health_check"][0]["path"])
    assert path == "/health"
    assert spec["paths"][path]["get"]["operationId"] == "get_health"
    assert target_group["health_check"][0]["matcher"] == "200"
    assert "'/health'" in (ROOT / "Dockerfile").read_text().split("HEALTHCHECK", 1)[1]


def test_container_port_matches_the_image(infra: Configuration) -> None:
    port = infra.locals["container_port"]
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert dockerfile_env()["PORT"] == str(port)
    assert f"\nEXPOSE {port}\n" in dockerfile
    assert infra.resolve(infra.resource("aws_lb_target_group", "app")["port"]) == port
    service = infra.resource("aws_ecs_service", "app")
    assert infra.resolve(service["load_balancer"][0]["container_port"]) == port
    assert task_environment(infra)["PORT"] == str(port)


def test_gunicorn_keepalive_outlasts_the_load_balancer(infra: Configuration) -> None:
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text()
    default = re.search(r'environ\.get\("GUNICORN_KEEPALIVE", "(\d+)"\)', gunicorn_conf)

    assert default is not None
    assert int(default.group(1)) == infra.locals["gunicorn_keepalive"]
    assert infra.locals["gunicorn_keepalive"] > infra.locals["alb_idle_timeout"]
    assert infra.resolve(infra.resource("aws_lb", "main")["idle_timeout"]) == 60


def test_task_settings_start_the_app_in_production(infra: Configuration) -> None:
    environment = task_environment(infra)
    assert environment["DATABASE_URL"] == (
        '${format("mysql+pymysql://%s@%s:%d/%s", aws_db_instance.main.username, '
        "aws_db_instance.main.address, aws_db_instance.main.port, aws_db_instance.main.db_name)}"
    )
    environment["DATABASE_URL"] = RDS_URL
    environment.update(SECRET_VALUES)

    settings = load_settings(environment)

    assert settings.is_production
    assert settings.host == "0.0.0.0"
    assert settings.port == infra.locals["container_port"]
    assert settings.metrics_enabled is False
    assert settings.jwt_secret == SECRET_VALUES["JWT_SECRET"]
    assert settings.database_tls == "required"
    assert settings.database_url == (
        "mysql+pymysql://activity_recommender:p%40ss%3Aw%2Frd%23from%3Frds"
        "@db.example.internal:3306/activity_recommender"
    )


@pytest.mark.parametrize("secret", ["JWT_SECRET", "ROOT_PASSWORD"])
def test_task_without_secret_fails_to_start(infra: Configuration, secret: str) -> None:
    environment = task_environment(infra)
    environment["DATABASE_URL"] = RDS_URL
    environment.update(SECRET_VALUES)
    del environment[secret]

    with pytest.raises(ConfigError, match=secret):
        load_settings(environment)


def test_secrets_reach_the_task_only_as_secrets(infra: Configuration) -> None:
    secrets = infra.locals["secrets"]
    environment = infra.locals["app_environment"]

    assert set(secrets) == set(SECRET_VALUES)
    assert not set(secrets) & set(environment)
    assert [name for name in environment if re.search("SECRET|PASSWORD|TOKEN", name)] == []
    assert secrets["JWT_SECRET"] == "${aws_secretsmanager_secret.jwt_secret.arn}"
    assert secrets["ROOT_PASSWORD"] == "${aws_secretsmanager_secret.root_password.arn}"
    assert secrets["DATABASE_PASSWORD"] == (
        "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
    )
    definitions = infra.resource("aws_ecs_task_definition", "app")["container_definitions"]
    assert "secrets = [for name, arn in local.secrets : {name = name, valueFrom = arn}]" in definitions
    assert "environment = [for name, value in local.environment :" in definitions


def test_generated_secrets_stay_out_of_the_state(infra: Configuration) -> None:
    for name in ("jwt_secret", "root_password"):
        version = infra.resource("aws_secretsmanager_secret_version", name)
        assert version["secret_string_wo"] == f"${{ephemeral.random_password.{name}.result}}"
        assert "secret_string" not in version


def test_database_is_private_encrypted_and_backed_up(infra: Configuration) -> None:
    database = infra.resource("aws_db_instance", "main")

    assert database["publicly_accessible"] is False
    assert database["storage_encrypted"] is True
    assert database["manage_master_user_password"] is True
    assert "password" not in database
    assert database["engine"] == "mysql"
    assert infra.resolve(database["engine_version"]).startswith("8.")
    assert infra.resolve(database["instance_class"]) == "db.t4g.micro"
    assert infra.resolve(database["backup_retention_period"]) >= 1
    assert database["skip_final_snapshot"] is False
    subnet_group = infra.resource("aws_db_subnet_group", "main")
    assert subnet_group["subnet_ids"] == "${aws_subnet.private[*].id}"


def test_database_admits_only_the_tasks(infra: Configuration) -> None:
    rules = [
        body
        for (kind, _), body in infra.resources.items()
        if kind.startswith("aws_vpc_security_group_") and body["security_group_id"] == "${aws_security_group.db.id}"
    ]
    assert rules == [
        {
            "security_group_id": "${aws_security_group.db.id}",
            "description": "MySQL from the tasks",
            "referenced_security_group_id": "${aws_security_group.tasks.id}",
            "ip_protocol": "tcp",
            "from_port": 3306,
            "to_port": 3306,
        }
    ]
    # Only the public subnets are associated with the route table that leads outside.
    association = infra.resource("aws_route_table_association", "public")
    assert association["subnet_id"] == "${aws_subnet.public[count.index].id}"


def test_tasks_admit_only_the_load_balancer(infra: Configuration) -> None:
    ingress = [
        body
        for (kind, name), body in infra.resources.items()
        if kind == "aws_vpc_security_group_ingress_rule"
        and body["security_group_id"] == "${aws_security_group.tasks.id}"
        and name != "tasks_metrics"
    ]
    assert len(ingress) == 1
    assert ingress[0]["referenced_security_group_id"] == "${aws_security_group.alb.id}"
    assert infra.resolve(ingress[0]["from_port"]) == infra.locals["container_port"]


def test_metrics_stay_off_the_load_balancer(infra: Configuration) -> None:
    rule = infra.resource("aws_lb_listener_rule", "block_internal_paths")

    assert "/metrics" in infra.locals["internal_paths"]
    assert rule["condition"][0]["path_pattern"][0]["values"] == "${local.internal_paths}"
    assert rule["action"][0]["type"] == "fixed-response"
    assert rule["action"][0]["fixed_response"][0]["status_code"] == "404"
    # A metrics port, when set, can never be the port the target group sends traffic to.
    validation = infra.variables["metrics_port"]["validation"][0]["condition"]
    assert f"!= {infra.locals['container_port']}" in validation


def test_service_rolls_back_and_scales(infra: Configuration) -> None:
    service = infra.resource("aws_ecs_service", "app")
    task = infra.resource("aws_ecs_task_definition", "app")
    target = infra.resource("aws_appautoscaling_target", "app")

    assert service["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}]
    assert service["launch_type"] == "FARGATE"
    assert task["runtime_platform"][0]["cpu_architecture"] == "ARM64"
    assert infra.resolve(task["cpu"]) == 256
    assert infra.resolve(task["memory"]) == 512
    assert "readonlyRootFilesystem = true" in task["container_definitions"]
    assert target["min_capacity"] == "${var.min_tasks}"
    assert target["max_capacity"] == "${var.max_tasks}"
    metrics = {
        infra.resource("aws_appautoscaling_policy", name)["target_tracking_scaling_policy_configuration"][0][
            "predefined_metric_specification"
        ][0]["predefined_metric_type"]
        for name in ("cpu", "requests")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_certificate_enables_https_redirect(infra: Configuration) -> None:
    http = infra.resource("aws_lb_listener", "http")
    https = infra.resource("aws_lb_listener", "https")

    assert infra.locals["https"] == '${var.certificate_arn != ""}'
    assert https["count"] == "${local.https ? 1 : 0}"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert http["default_action"][0]["type"] == '${local.https ? "redirect" : "forward"}'


def test_workflow_variables_are_terraform_outputs(infra: Configuration) -> None:
    workflow = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    used = set(re.findall(r"vars\.([A-Z_]+)", workflow))

    assert used == set(infra.outputs["github_variables"]["value"])


def test_deploy_role_trusts_only_the_deploy_environment(infra: Configuration) -> None:
    iam = (INFRA / "iam.tf").read_text()
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())

    assert (
        'values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]' in iam
    )
    assert workflow["jobs"]["deploy"]["environment"]["name"] == (
        infra.variables["github_environment"]["default"]
    )


def checkov_skips() -> list[tuple[str, str, str]]:
    skips = []
    for path in sorted(INFRA.glob("*.tf")):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                match = re.search(r"checkov:skip=(CKV2?_AWS_\d+):(.*)$", line)
                skips.append((path.name, match.group(1) if match else line, match.group(2) if match else ""))
    return skips


def test_every_checkov_skip_gives_its_reason() -> None:
    skips = checkov_skips()

    assert skips, "expected the documented checkov skips"
    for file_name, check, reason in skips:
        assert check.startswith("CKV"), f"{file_name}: malformed skip {check!r}"
        assert len(reason.split()) >= 6, f"{file_name}: {check} needs a reason, got {reason!r}"


def resolved_environment(infra: Configuration) -> dict[str, Any]:
    return {name: infra.resolve(value) for name, value in infra.locals["app_environment"].items()}


def test_proxy_headers_trusted_from_the_vpc_only(infra: Configuration) -> None:
    assert resolved_environment(infra)["FORWARDED_ALLOW_IPS"] == infra.variables["vpc_cidr"]["default"]
