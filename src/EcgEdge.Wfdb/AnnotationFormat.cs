namespace EcgEdge.Wfdb;

/// <summary>Constants of the MIT annotation format: 16-bit little-endian words, type in the top 6 bits, data in the low 10.</summary>
internal static class AnnotationFormat
{
    public const int CodeShift = 10;
    public const int DataMask = 0x3FF;
    public const int MaxInterval = 1023;
    public const int Skip = 59;
    public const int Num = 60;
    public const int Sub = 61;
    public const int Chn = 62;
    public const int Aux = 63;
    public const int MaxAuxLength = 255;
}
