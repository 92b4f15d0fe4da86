# Two teams get a mailer from one local module (for_each), and the module
# creates two policies per team (count). Every instance has its own address,
# such as module.mailer["billing"].aws_iam_policy.send[0], and every one is
# checked. Policy 0 grants ses:Send* without a recipient restriction, which
# covers SendEmail and friends (SES-001) and SendCustomVerificationEmail
# (SES-003). Policy 1 restricts recipients but misspells ses:SendEmail, so that
# action is never granted (SES-008). Scanned as .tf files, without a plan,
# sesrego expands the literal for_each and count the same way, resolves each.key
# and count.index in every instance, and reports the same findings under the
# same addresses.

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
  region = "eu-west-1"
}

module "mailer" {
  source = "./modules/mailer"
  for_each = {
    billing = "Sends invoices and payment reminders."
    support = "Sends ticket updates."
  }

  team    = each.key
  purpose = each.value
}
