# JWT_SECRET and ROOT_PASSWORD, generated here and stored in Secrets Manager. The values go
# through write-only arguments, so they are in neither the plan nor the state file.
# To rotate one, raise its *_version below and apply, then redeploy: every token signed
# with an old JWT secret stops working.

locals {
  jwt_secret_version    = 1
  root_password_version = 1
}

ephemeral "random_password" "jwt_secret" {
  length  = 64
  special = false
}

ephemeral "random_password" "root_password" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "jwt_secret" {
  # checkov:skip=CKV2_AWS_57:Rotating the signing key logs every user out; rotate it on purpose with jwt_secret_version.
  # checkov:skip=CKV_AWS_149:The AWS managed key (aws/secretsmanager) encrypts it; a customer key adds $1 a month and a key policy.
  name                    = "${var.name}/jwt-secret"
  description             = "HS256 signing key of the service's tokens (JWT_SECRET)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "jwt_secret" {
  secret_id                = aws_secretsmanager_secret.jwt_secret.id
  secret_string_wo         = ephemeral.random_password.jwt_secret.result
  secret_string_wo_version = local.jwt_secret_version
}

resource "aws_secretsmanager_secret" "root_password" {
  # checkov:skip=CKV2_AWS_57:The root password is for people; rotate it on purpose with root_password_version.
  # checkov:skip=CKV_AWS_149:The AWS managed key (aws/secretsmanager) encrypts it; a customer key adds $1 a month and a key policy.
  name                    = "${var.name}/root-password"
  description             = "Password of the service's root user (ROOT_PASSWORD)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "root_password" {
  secret_id                = aws_secretsmanager_secret.root_password.id
  secret_string_wo         = ephemeral.random_password.root_password.result
  secret_string_wo_version = local.root_password_version
}
