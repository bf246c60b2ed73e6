resource "aws_db_subnet_group" "main" {
  name       = var.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_instance" "main" {
  # checkov:skip=CKV_AWS_157:A Multi-AZ standby doubles the database cost; var.db_multi_az turns it on.
  # checkov:skip=CKV_AWS_161:The app logs in with the password that RDS keeps in Secrets Manager; IAM tokens would need an AWS SDK in the app.
  # checkov:skip=CKV_AWS_118:Enhanced Monitoring adds a role and CloudWatch Logs cost; the basic RDS metrics cover this size.
  # checkov:skip=CKV_AWS_353:Performance Insights is not offered on the smallest instance classes such as db.t4g.micro.
  # checkov:skip=CKV_AWS_354:Performance Insights is off, so it has nothing to encrypt.
  identifier     = var.name
  engine         = "mysql"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage = var.db_allocated_storage
  storage_type      = "gp3"
  storage_encrypted = true

  db_name  = "activity_recommender"
  username = "activity_recommender"
  # RDS generates the password, keeps it in Secrets Manager and rotates it every 7 days;
  # Terraform never sees it. Tasks read it at start, and the container health check on
  # /ready replaces a task whose password has gone stale (see ecs.tf).
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "03:00-04:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name}-final"

  enabled_cloudwatch_logs_exports = ["error", "slowquery"]
}
