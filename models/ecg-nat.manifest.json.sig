{
  "schema": "ecgedge.manifest-signature/1",
  "algorithm": "ECDSA-P256-SHA256",
  "keyId": "8726efb4413fcccf",
  "signature": "MEQCIEVK6KmxbMDl3SSfNPNhSWH+5y7kgEGwrw4wuOdk3zjvAiAhn7TwJe31Y1FSAZyM6DvFQNE2Z2SYjDD4jxYfg0uysQ=="
}
