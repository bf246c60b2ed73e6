resource "aws_lb" "main" {
  # checkov:skip=CKV_AWS_91:Access logs need an S3 bucket with its own policy and cost; the service's access log is in CloudWatch.
  # checkov:skip=CKV2_AWS_28:AWS WAF costs at least $5 a month plus $1 per rule; the API authenticates every write itself.
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = aws_subnet.public[*].id

  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # gunicorn keeps idle connections open for GUNICORN_KEEPALIVE (75 s), longer than this,
  # so the load balancer never reuses a connection that the server has just closed.
  idle_timeout = local.alb_idle_timeout
}

resource "aws_lb_target_group" "app" {
  # checkov:skip=CKV_AWS_378:Traffic from the load balancer to the tasks stays inside the VPC, and the container serves plain HTTP.
  name        = var.name
  port        = local.container_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main.id
  # Requests in flight get this long to finish before a stopping task leaves the group.
  deregistration_delay = 30

  health_check {
    path                = local.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  # checkov:skip=CKV_AWS_2:With certificate_arn set this listener only redirects to HTTPS; without one, plain HTTP is what was asked for.
  # checkov:skip=CKV_AWS_103:Plain HTTP has no TLS version; the HTTPS listener sets a TLS 1.2+ policy.
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.app.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

# Operational endpoints such as /metrics are for the VPC, not the internet: the listener
# that serves the app answers them with 404 before they reach a task.
resource "aws_lb_listener_rule" "block_internal_paths" {
  listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
  priority     = 10

  condition {
    path_pattern {
      values = local.internal_paths
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/problem+json"
      status_code  = "404"
      message_body = jsonencode({ type = "about:blank", title = "Not Found", status = 404 })
    }
  }
}
