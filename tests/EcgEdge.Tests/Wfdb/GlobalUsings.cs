// TestData.cs (and the other test folders) use xunit's Skip/Fact without a using directive, and the test project does
// not import Xunit globally. A duplicate global using elsewhere is harmless, so this file can stay if one is added.
global using Xunit;
