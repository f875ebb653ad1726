// CDKTF_CONTEXT_JSON overrides Testing.app({ context }); a value left in the shell must not leak into tests.
delete process.env.CDKTF_CONTEXT_JSON;
