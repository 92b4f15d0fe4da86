# The same organization, fixed: next to the existing resource-perimeter SCP it
# attaches a second SCP with the three SES statements of AWS's
# restrict_untrusted_endpoints_scp.json (MIT-0), with <trusted_email_domain>
# replaced by example.com. The v1 statement covers SES API v1 sends, the v2
# statement API v2 SendEmail, and the third keeps custom verification emails to
# principals tagged dp:exclude:resource=true.

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

resource "aws_organizations_policy" "ses_controls" {
  name        = "ses-trusted-recipients"
  description = "Only send email to trusted domains; keep custom verification emails to administrators."
  type        = "SERVICE_CONTROL_POLICY"

  content = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "PreventUntrustedSESv1Emails"
        Effect = "Deny"
        Action = [
          "ses:SendBulkTemplatedEmail",
          "ses:SendEmail",
          "ses:SendRawEmail",
          "ses:SendTemplatedEmail",
        ]
        Resource = "*"
        Condition = {
          "ForAnyValue:StringNotLike" = {
            "ses:Recipients" = ["*@example.com"]
          }
          StringEquals = {
            "ses:ApiVersion" = "1"
          }
          StringNotEqualsIfExists = {
            "aws:PrincipalTag/dp:exclude:resource" = "true"
          }
        }
      },
      {
        Sid      = "PreventUntrustedSESv2Emails"
        Effect   = "Deny"
        Action   = ["ses:SendEmail"]
        Resource = "*"
        Condition = {
          "ForAnyValue:StringNotLike" = {
            "ses:Recipients" = ["*@example.com"]
          }
          StringEquals = {
            "ses:ApiVersion" = "2"
          }
          StringNotEqualsIfExists = {
            "aws:PrincipalTag/dp:exclude:resource" = "true"
          }
        }
      },
      {
        Sid      = "PreventUntrustedSESVerificationEmails"
        Effect   = "Deny"
        Action   = ["ses:SendCustomVerificationEmail"]
        Resource = "*"
        Condition = {
          StringNotEqualsIfExists = {
            "aws:PrincipalTag/dp:exclude:resource" = "true"
          }
        }
      }
    ]
  })
}

resource "aws_organizations_policy_attachment" "ses_controls" {
  policy_id = aws_organizations_policy.ses_controls.id
  target_id = "r-a1b2"
}
