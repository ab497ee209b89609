"""The mock AWS world: the only code that touches moto's, botocore's or the standard library's internals."""
