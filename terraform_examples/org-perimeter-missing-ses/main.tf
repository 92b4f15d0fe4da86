# The management account of an organization attaches AWS's resource-perimeter
# SCP (adapted from aws-samples/data-perimeter-policy-examples, MIT-0) to the
# organization root. It carries none of the SES controls: recipients of
# SendEmail and friends are not restricted (SES-004) and nothing stops members
# from sending custom verification emails (SES-006). Both findings are
# reported on the perimeter SCP.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_organizations_policy" "resource_perimeter" {
  name        = "resource-perimeter"
  description = "Deny access to resources outside the organization, except trusted AWS-owned and partner resources."
  type        = "SERVICE_CONTROL_POLICY"

  content = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "EnforceResourcePerimeterAWSResources"
        Effect = "Deny"
        Action = "*"
        NotResource = [
          "arn:aws:iam::aws:policy/*",
          "arn:aws:ssm:*::document/*",
          "arn:aws:ssm:*::parameter/*",
          "arn:aws:ssm:*::automation-definition/*",
          "arn:aws:imagebuilder:*:aws:component/*",
          "arn:aws:imagebuilder:*:aws:image/*",
          "arn:aws:ec2:*:aws:prefix-list/*",
          "arn:aws:s3:::elasticbeanstalk-samples-eu-west-1/*",
          "arn:aws:s3:::elasticbeanstalk-platform-assets-eu-west-1/*",
          "arn:aws:s3:::elasticbeanstalk-env-resources-eu-west-1/*",
          "arn:aws:s3:::elasticbeanstalk-eu-west-1/*",
          "arn:aws:s3:::jumpstart-cache-prod-eu-west-1/*",
          "arn:aws:s3:::jumpstart-cache-prod-eu-west-1",
          "arn:aws:cloudformation:*:aws:transform/*",
          "arn:aws:s3:::aws-neptune-notebook",
          "arn:aws:s3:::aws-neptune-notebook/*",
          "arn:aws:s3:::aws-neptune-notebook-eu-west-1",
          "arn:aws:s3:::aws-neptune-notebook-eu-west-1/*",
          "arn:aws:s3:::athena-examples-eu-west-1/*",
          "arn:aws:s3:::athena-examples-eu-west-1",
          "arn:aws:s3:::cloudformation-examples/*",
          "arn:aws:s3:::awssupportdatasvcs.com/*",
          "arn:aws:s3:::redshift-downloads/*",
          "arn:aws:s3:::session-manager-downloads/*",
          "arn:aws:s3:::ssm-document-categories/*",
          "arn:aws:s3:::aws-sap-data-provider/*",
          "arn:aws:s3:::aws-sap-dataprovider-eu-west-1/*",
          "arn:aws:s3:::awssap-backint-agent/*",
          "arn:aws:s3:::partner-exchange-bucket/*",
        ]
        Condition = {
          StringNotEqualsIfExists = {
            "aws:ResourceOrgID"                    = "o-a1b2c3d4e5"
            "ec2:Owner"                            = "amazon"
            "aws:PrincipalTag/dp:exclude:resource" = "true"
          }
        }
      },
      {
        Sid      = "EnforceResourcePerimeterThirdPartyResources"
        Effect   = "Deny"
        Action   = "*"
        Resource = ["arn:aws:s3:::partner-exchange-bucket/*"]
        Condition = {
          StringNotEqualsIfExists = {
            "aws:PrincipalTag/dp:exclude:resource" = "true"
            "aws:ResourceAccount"                  = ["777788889999"]
          }
        }
      }
    ]
  })
}

resource "aws_organizations_policy_attachment" "resource_perimeter" {
  policy_id = aws_organizations_policy.resource_perimeter.id
  target_id = "r-a1b2"
}
