locals {
  # These must agree with the image and the app; tests/deploy/test_terraform.py checks them
  # against the Dockerfile, gunicorn.conf.py and the spec.
  container_name    = "app"
  container_port    = 8000
  health_check_path = "/health"
  # gunicorn's keep-alive (GUNICORN_KEEPALIVE) must stay above this.
  alb_idle_timeout   = 60
  gunicorn_keepalive = 75
  # Paths the load balancer answers with 404, so they stay inside the VPC.
  internal_paths = ["/metrics", "/metrics/*"]

  image = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"

  # The database URL carries no password: DATABASE_PASSWORD, a secret, supplies it.
  database_url = format(
    "mysql+pymysql://%s@%s:%d/%s",
    aws_db_instance.main.username,
    aws_db_instance.main.address,
    aws_db_instance.main.port,
    aws_db_instance.main.db_name,
  )

  # The metrics listener is a second port that the target group never uses, so the load
  # balancer cannot reach /metrics even if the listener rule in alb.tf were removed.
  metrics_environment = var.metrics_port == null ? { METRICS_ENABLED = "false" } : {
    METRICS_ENABLED = "true"
    METRICS_PORT    = tostring(var.metrics_port)
  }

  app_environment = {
    APP_ENV            = "production"
    HOST               = "0.0.0.0"
    PORT               = tostring(local.container_port)
    WEB_CONCURRENCY    = tostring(var.web_concurrency)
    GUNICORN_KEEPALIVE = tostring(local.gunicorn_keepalive)
    # Only the load balancer reaches the tasks, and it is inside the VPC, so its
    # X-Forwarded-For and -Proto headers are trusted from the VPC's range alone.
    FORWARDED_ALLOW_IPS = var.vpc_cidr
    DATABASE_URL        = local.database_url
    # RDS accepts TLS; this encrypts without checking the certificate. To verify it,
    # put the RDS CA bundle in the image and add ?ssl_ca=PATH to the database URL.
    DATABASE_TLS  = "required"
    ROOT_USERNAME = var.root_username
    SWAGGER_UI    = tostring(var.swagger_ui)
  }
  environment = merge(local.app_environment, local.metrics_environment)

  secrets = {
    JWT_SECRET    = aws_secretsmanager_secret.jwt_secret.arn
    ROOT_PASSWORD = aws_secretsmanager_secret.root_password.arn
    # RDS keeps the master credentials as JSON; ECS extracts the "password" key.
    DATABASE_PASSWORD = "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
  }

  # ECS ignores the image's HEALTHCHECK, so the task has its own, and it asks /ready rather
  # than /health: RDS rotates the database password every 7 days, and a task started with
  # the old one can no longer open connections. Marked unhealthy, it is replaced by a task
  # that reads the new password. The load balancer keeps probing /health.
  container_health_check = [
    "CMD", "python", "-c",
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/ready', timeout=4)",
  ]
}

resource "aws_ecs_cluster" "main" {
  # checkov:skip=CKV_AWS_65:Container Insights bills its metrics as custom metrics; turn it on with var.container_insights.
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    cpu_architecture        = "ARM64"
    operating_system_family = "LINUX"
  }

  # Fargate's ephemeral storage, mounted at /tmp: gunicorn's worker heartbeat files need a
  # writable folder, and the root file system is read-only.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = local.image
      essential              = true
      readonlyRootFilesystem = true
      user                   = "10001:10001"
      portMappings = concat(
        [{ containerPort = local.container_port, protocol = "tcp" }],
        var.metrics_port == null ? [] : [{ containerPort = var.metrics_port, protocol = "tcp" }],
      )
      environment = [
        for name, value in local.environment : { name = name, value = value }
      ]
      secrets = [
        for name, arn in local.secrets : { name = name, valueFrom = arn }
      ]
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }
      ]
      healthCheck = {
        command     = local.container_health_check
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      # gunicorn's graceful timeout is 30 s; ECS sends SIGKILL after stopTimeout.
      stopTimeout = 35
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = local.container_name
        }
      }
    }
  ])
}

resource "aws_ecs_service" "app" {
  # checkov:skip=CKV_AWS_333:Without a NAT gateway the tasks need public IPv4 addresses to pull images and read secrets; their security group admits only the load balancer.
  name             = var.name
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.app.arn
  desired_count    = var.min_tasks
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = true
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  lifecycle {
    # The deploy workflow registers a task definition per commit and autoscaling sets the
    # count; Terraform leaves both alone after creating the service.
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.http, aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
  }
}

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_338:A year of logs costs more than this service; var.log_retention_days sets how long to keep them.
  # checkov:skip=CKV_AWS_158:The AWS-owned key already encrypts log data at rest; a customer key adds $1 a month and a key policy.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}
