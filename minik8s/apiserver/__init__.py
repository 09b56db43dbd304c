"""The API server: a request pipeline (authn -> authz -> admission -> storage) with no HTTP in it."""
