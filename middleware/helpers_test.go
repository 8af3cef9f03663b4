package middleware

// proxyIPNet is the trusted proxies' range in tests; proxyIP is in it.
const (
	proxyIPNet = "10.0.0.0/8"
	proxyIP    = "10.0.0.7"
)
