variable "name" {
  description = "Prefix of every resource name, and the Application tag."
  type        = string
  default     = "activity-recommender"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,27}$", var.name))
    error_message = "name must be 2 to 28 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "The two availability zones of the subnets, in var.region."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "availability_zones must name exactly two zones."
  }
}

variable "vpc_cidr" {
  description = "Address range of the VPC; each of the four subnets takes a /24 of it."
  type        = string
  default     = "10.20.0.0/16"
}

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS on the load balancer. Empty serves plain HTTP on port 80; set, port 443 serves HTTPS and port 80 redirects to it."
  type        = string
  default     = ""
}

variable "image_tag" {
  description = "Image tag in the task definition that Terraform registers. The deploy workflow registers later revisions with the commit SHA, so this only matters before the first deploy."
  type        = string
  default     = "bootstrap"
}

variable "task_cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "task_memory" {
  description = "Fargate task memory in MiB; must be a size that Fargate allows for task_cpu."
  type        = number
  default     = 512
}

variable "web_concurrency" {
  description = "gunicorn worker processes per task (WEB_CONCURRENCY). Two fit in 512 MiB."
  type        = number
  default     = 2
}

variable "min_tasks" {
  description = "Fewest tasks the service runs; autoscaling never goes below it."
  type        = number
  default     = 1
}

variable "max_tasks" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 4

  validation {
    condition     = var.max_tasks >= var.min_tasks
    error_message = "max_tasks must be at least min_tasks."
  }
}

variable "cpu_target_percent" {
  description = "Average task CPU utilization, in percent, that autoscaling keeps the service at."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Requests per task per minute (ALBRequestCountPerTarget) that autoscaling keeps the service at."
  type        = number
  default     = 1000
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "RDS MySQL engine version; a major.minor such as 8.4 lets RDS choose and upgrade the patch release."
  type        = string
  default     = "8.4"
}

variable "db_allocated_storage" {
  description = "RDS storage in GiB (gp3)."
  type        = number
  default     = 20
}

variable "db_backup_retention_days" {
  description = "Days of RDS automated backups to keep (1 to 35)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35, so backups stay on."
  }
}

variable "db_multi_az" {
  description = "Run a standby RDS instance in the second availability zone (doubles the database cost)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Protect the load balancer and the database from deletion; set false before terraform destroy."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the service's logs."
  type        = number
  default     = 30
}

variable "ecr_keep_images" {
  description = "Number of tagged images the ECR lifecycle policy keeps; older ones are deleted, so rollbacks reach this far back."
  type        = number
  default     = 20
}

variable "root_username" {
  description = "Name of the service's root user (ROOT_USERNAME)."
  type        = string
  default     = "root"
}

variable "swagger_ui" {
  description = "Serve Swagger UI at /docs (SWAGGER_UI)."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "GitHub repository, as owner/name, whose deploy workflow may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_environment" {
  description = "GitHub environment of the deploy job; only jobs in it may assume the deploy role."
  type        = string
  default     = "production"
}

variable "create_github_oidc_provider" {
  description = "Create the account's IAM OIDC provider for GitHub Actions. An account has at most one per URL: set false if it exists already."
  type        = bool
  default     = true
}

variable "container_insights" {
  description = "Turn on CloudWatch Container Insights for the cluster (billed as custom metrics)."
  type        = bool
  default     = false
}

variable "metrics_port" {
  description = "Serve Prometheus metrics on this second container port, reachable from inside the VPC only (METRICS_ENABLED, METRICS_PORT). Null turns metrics off."
  type        = number
  default     = null

  validation {
    condition     = var.metrics_port == null || (coalesce(var.metrics_port, 0) >= 1024 && coalesce(var.metrics_port, 0) <= 65535 && coalesce(var.metrics_port, 0) != 8000)
    error_message = "metrics_port must be an unprivileged port other than the container port, 8000."
  }
}
