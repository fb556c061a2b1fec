module github.com/nfr-project/nfr

go 1.26.8

require (
	github.com/google/gopacket v1.1.19
	github.com/jessevdk/go-flags v1.6.1
	github.com/json-iterator/go v1.1.12
	golang.org/x/net v0.62.0
	gopkg.in/yaml.v2 v2.4.0
)

require (
	github.com/modern-go/concurrent v0.0.0-20180228061459-e0a39a4cb421 // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
