# Loaded by Terraform (and sesrego) without being asked.
allowed_recipients = ["*"]
