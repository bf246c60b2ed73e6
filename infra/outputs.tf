output "service_url" {
  description = "Public URL of the service (the load balancer's DNS name; point your own domain at it with a CNAME or alias record)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.main.dns_name}"
}

output "ecr_repository_url" {
  description = "ECR repository the deploy workflow pushes images to."
  value       = aws_ecr_repository.app.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.app.name
}

output "task_definition_family" {
  description = "Task definition family that the deploy workflow registers revisions in."
  value       = aws_ecs_task_definition.app.family
}

output "container_name" {
  description = "Name of the app container in the task definition."
  value       = local.container_name
}

output "log_group_name" {
  description = "CloudWatch log group of the service and of the migration tasks."
  value       = aws_cloudwatch_log_group.app.name
}

output "github_deploy_role_arn" {
  description = "IAM role the deploy workflow assumes through GitHub's OIDC provider."
  value       = aws_iam_role.github_deploy.arn
}

output "root_password_secret_arn" {
  description = "Secrets Manager secret that holds the root user's password."
  value       = aws_secretsmanager_secret.root_password.arn
}

output "database_endpoint" {
  description = "RDS endpoint, reachable only from the tasks."
  value       = aws_db_instance.main.endpoint
}

output "github_variables" {
  description = "Repository variables the deploy workflow reads, by name."
  value = {
    AWS_REGION          = var.region
    AWS_DEPLOY_ROLE_ARN = aws_iam_role.github_deploy.arn
    ECR_REPOSITORY      = aws_ecr_repository.app.name
    ECS_CLUSTER         = aws_ecs_cluster.main.name
    ECS_SERVICE         = aws_ecs_service.app.name
    ECS_CONTAINER       = local.container_name
    SERVICE_URL         = "${local.https ? "https" : "http"}://${aws_lb.main.dns_name}"
  }
}
