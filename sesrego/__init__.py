"""sesrego: AWS's SES data-perimeter guidance compiled into Rego rules and OPA bundles."""

__version__ = "0.1.0"
