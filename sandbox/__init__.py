"""Local servers that speak each source's real wire format on 127.0.0.1.

They serve `okr demo` (no credentials needed), the tests and the benchmarks. The real
connector code talks to them through the real client libraries; only the endpoint differs.
"""
