terraform {
  # 1.11 is the first release with write-only arguments, which keep the generated
  # secrets out of the state file.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = var.name
      ManagedBy   = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

# Naming the zones keeps the subnets where they are when AWS adds a zone to the region;
# the filter also fails the plan early if a name is wrong for the region.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.availability_zones
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  azs        = data.aws_availability_zones.selected.names
  https      = var.certificate_arn != ""
}
