{
  "schema": "ecgedge.manifest-signature/1",
  "algorithm": "ECDSA-P256-SHA256",
  "keyId": "8726efb4413fcccf",
  "signature": "MEUCIA5FQsw6dpHDZX6yBPjy3UVeXID+gsu1/Iv4shQOLp5/AiEAxUkAUS8aTxCnGBXdU/Tv2jG5Z+x3bSG30yRqzQNK/ao="
}
