{
  "schema": "ecgedge.manifest-signature/1",
  "algorithm": "ECDSA-P256-SHA256",
  "keyId": "8726efb4413fcccf",
  "signature": "MEYCIQC44jCICZNzfbG44FP0uBi90k9b7mK7Nxy1BEHnsNhEqgIhAPXOJRvBxXRtbm+z9JECDGKDUKZ7ZBAL0LZx2u4nEOm0"
}
