namespace EcgEdge.Acquisition.Ads1298;

/// <summary>Base of the ADS1298 driver's exceptions.</summary>
public class Ads1298Exception : Exception
{
    public Ads1298Exception(string message) : base(message) { }
    public Ads1298Exception(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The options are invalid.</summary>
public sealed class Ads1298ConfigurationException : Ads1298Exception
{
    public Ads1298ConfigurationException(string message) : base(message) { }
}

/// <summary>The ID register does not name an ADS1294/6/8 (or R variant): wrong device, wiring or SPI mode.</summary>
public sealed class Ads1298UnknownDeviceException : Ads1298Exception
{
    public Ads1298UnknownDeviceException(byte id)
        : base($"ID register reads 0x{id:X2}, not an ADS1294/6/8 or R variant (0x90-0x92, 0xD0-0xD2). Check wiring, SPI mode 1, chip select and power.")
        => Id = id;

    /// <summary>The value read.</summary>
    public byte Id { get; }
}

/// <summary>Registers read back differently from what was written (bus fault or the device is not listening).</summary>
public sealed class Ads1298RegisterMismatchException : Ads1298Exception
{
    public Ads1298RegisterMismatchException(Ads1298Register register, byte written, byte read)
        : base($"Register {register} (0x{(int)register:X2}) reads back 0x{read:X2} after writing 0x{written:X2}.")
        => (Register, Written, Read) = (register, written, read);

    public Ads1298Register Register { get; }
    public byte Written { get; }
    public byte Read { get; }
}

/// <summary>The device stopped responding and bounded re-initialisation did not bring it back.</summary>
public sealed class Ads1298DeviceFailedException : Ads1298Exception
{
    public Ads1298DeviceFailedException(string message, Exception? inner) : base(message, inner) { }
}
