# Loaded only with -var-file=prod.tfvars (sesrego: --var-file).
allowed_recipients = ["*@example.com", "*@example.org"]
