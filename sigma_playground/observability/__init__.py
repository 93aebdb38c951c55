"""What operators see of the running site: Prometheus metrics, request ids and JSON logs, audit
events and error reports (docs/operations.md)."""
