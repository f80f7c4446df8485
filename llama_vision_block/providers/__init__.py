"""Model providers behind one `Backend` interface.

`base.py` holds the interface and the request and reply types, `spec.py` what a
provider is (`ProviderSpec`), `remote/` the HTTP providers and `local/` the
in-process backend, one module per provider; `registry.py` lists them all. This
package module imports nothing, so importing `providers.spec` stays light.
"""
