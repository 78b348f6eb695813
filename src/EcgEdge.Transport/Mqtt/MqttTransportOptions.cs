using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Options;

namespace EcgEdge.Transport.Mqtt;

/// <summary>MQTT protocol level spoken to the broker.</summary>
public enum MqttProtocolLevel
{
    /// <summary>MQTT 3.1.1: for brokers without MQTT 5 (RabbitMQ's MQTT plugin). No properties, no reason codes.</summary>
    V311 = 4,

    /// <summary>MQTT 5.0 (default): content type, message expiry, user properties, PUBACK reason codes, session expiry.</summary>
    V500 = 5,
}

/// <summary>TLS settings of <see cref="MqttTransportOptions"/>.</summary>
public sealed class MqttTlsOptions
{
    /// <summary>Refuse plain-TCP (<c>mqtt://</c>) endpoints. Set it in production.</summary>
    public bool RequireTls { get; set; }

    /// <summary>PEM file with the CA certificate(s) that must sign the broker's certificate (private CA). When empty,
    /// the operating system's trust store is used.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>PEM file with the client certificate (mutual TLS); requires <see cref="ClientKeyFile"/>.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>PEM file with the client certificate's private key (unencrypted PKCS#8 / RSA / EC).</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>Accept any broker certificate. Development only: logged as a warning at every connect.</summary>
    public bool AllowUntrusted { get; set; }

    /// <summary>
    /// CRL file (PEM "X509 CRL" blocks, or one DER CRL) of the CA(s) in <see cref="CaCertificateFile"/>: the broker's
    /// certificate is refused when it is listed. Checked offline at every connect (the file is read again, so a new CRL
    /// takes effect at the next connection). Fail closed: while the file is missing, unreadable, not signed by a
    /// configured CA or past its nextUpdate, no broker is trusted (start-up refuses a file that is missing or invalid;
    /// an expired one only stops connections: alerts stay in the outbox until a current CRL is installed).
    /// </summary>
    public string? CrlFile { get; set; }

    /// <summary>Host name expected in the broker certificate, when it differs from the endpoint's host.</summary>
    public string? ServerName { get; set; }
}

/// <summary>Where alerts go.</summary>
public enum MqttMode
{
    /// <summary>An in-process broker on loopback (<see cref="EmbeddedBroker"/>): the out-of-the-box default.</summary>
    Embedded,

    /// <summary>The brokers in <see cref="MqttTransportOptions.Endpoints"/>.</summary>
    External,

    /// <summary>No MQTT: console/log only.</summary>
    Off,
}

/// <summary>
/// Options of the MQTT transport (configuration section <see cref="SectionName"/>). Defaults are defined here and
/// only here. Checked by the source-generated <see cref="MqttTransportOptionsValidator"/> (register it with
/// <c>ValidateOnStart()</c>): the DataAnnotations, the outbox's (<see cref="Outbox"/>), then the cross-field rules of
/// <see cref="Validate"/>, each message naming its setting.
/// </summary>
public sealed class MqttTransportOptions : IValidatableObject
{
    /// <summary>Embedded broker, external brokers, or no MQTT.</summary>
    public MqttMode Mode { get; set; } = MqttMode.Embedded;

    /// <summary>Port of the embedded broker on 127.0.0.1 (0: any free port; a busy port falls back to a free one).</summary>
    [Range(0, 65535)]
    public int EmbeddedPort { get; set; } = 1883;

    /// <summary>Port of the embedded broker's MQTT-over-WebSockets listener on 127.0.0.1 (path <c>/mqtt</c>), for the
    /// clinician page of <c>ecgedge watch --web</c> (0: any free port; a busy port falls back to a free one).</summary>
    [Range(0, 65535)]
    public int EmbeddedWebSocketPort { get; set; } = DefaultEmbeddedWebSocketPort;

    /// <summary>The default of <see cref="EmbeddedWebSocketPort"/>, also where <c>ecgedge watch --web</c> looks by default.</summary>
    public const int DefaultEmbeddedWebSocketPort = 9001;

    public const string SectionName = "Mqtt";
    public const string TopicLevelPattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
    public const string TopicPrefixPattern = "^[A-Za-z0-9._-]{1,64}(/[A-Za-z0-9._-]{1,64}){0,7}$";

    /// <summary>Identity of this device; one topic level (letters, digits, '.', '_', '-'; no '/', '+', '#').</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(TopicLevelPattern)]
    public string DeviceId { get; set; } = "";

    /// <summary>First level(s) of every topic: <c>{TopicPrefix}/{DeviceId}/alerts</c> etc.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(TopicPrefixPattern)]
    public string TopicPrefix { get; set; } = "ecgedge";

    /// <summary>MQTT client id; defaults to <see cref="DeviceId"/>. Must be stable for a persistent session.</summary>
    [RegularExpression(TopicLevelPattern)]
    public string? ClientId { get; set; }

    /// <summary>Brokers in failover order: <c>mqtt://host:1883</c> or <c>mqtts://host:8883</c>. After each failed
    /// attempt the next one is tried (round robin).</summary>
    [Required]
    public List<string> Endpoints { get; set; } = ["mqtt://127.0.0.1:1883"];

    public MqttProtocolLevel ProtocolVersion { get; set; } = MqttProtocolLevel.V500;

    /// <summary>MQTT keep-alive; the connection loop also pings at this period.</summary>
    [Range(5, 3600)]
    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>Limit for a connect attempt and for each PUBACK.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Relative jitter of every reconnect delay: 0.2 = ±20 %.</summary>
    [Range(0.0, 1.0)]
    public double ReconnectJitter { get; set; } = 0.2;

    /// <summary>MQTT 5 session expiry (clean start is always off). Ignored by 3.1.1, where clean session is off.</summary>
    [Range(1L, uint.MaxValue)]
    public long SessionExpirySeconds { get; set; } = 24 * 3600;

    public string? Username { get; set; }

    /// <summary>Never logged: <see cref="ToString"/> redacts it.</summary>
    public string? Password { get; set; }

    /// <summary>Message expiry for best-effort (QoS 0) messages that do not set their own; also the age after which
    /// they are dropped locally instead of sent late.</summary>
    [Range(1, 86400)]
    public int BestEffortExpirySeconds { get; set; } = 60;

    /// <summary>Best-effort messages kept in memory while disconnected (oldest dropped first, counted).</summary>
    [Range(1, 100_000)]
    public int BestEffortQueueCapacity { get; set; } = 256;

    public MqttTlsOptions Tls { get; set; } = new();

    /// <summary>The durable outbox; its directory defaults to the systemd StateDirectory of the service.</summary>
    [ValidateObjectMembers(typeof(DurableOutboxOptionsValidator))]
    public DurableOutboxOptions Outbox { get; set; } = new() { Directory = "/var/lib/ecgedge/mqtt-outbox" };

    /// <summary>The client id actually used.</summary>
    public string EffectiveClientId => string.IsNullOrEmpty(ClientId) ? DeviceId : ClientId;

    /// <summary>Endpoints parsed (valid only once <see cref="MqttTransportOptionsValidator"/> accepted the options).</summary>
    public IReadOnlyList<MqttEndpoint> ParsedEndpoints => Endpoints.Select(e => MqttEndpoint.TryParse(e, out var ep, out _) ? ep! : throw new InvalidOperationException($"Invalid MQTT endpoint '{e}'.")).ToList();

    /// <summary>
    /// The rules beyond the DataAnnotations (run by the generated validator with them): the endpoints parsed, the time
    /// spans in range, settings that contradict each other, and the TLS files present and readable. Each message names its
    /// setting.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var errors = new List<string>();
        if (Mode == MqttMode.Embedded && Tls.RequireTls)
            errors.Add("Mqtt:Mode=Embedded is a plain loopback broker but Mqtt:Tls:RequireTls is set; use Mqtt:Mode=External with mqtts:// endpoints.");
        // Said again in words (the attribute's message only quotes the pattern).
        if (string.IsNullOrEmpty(DeviceId) || !Regex.IsMatch(DeviceId, TopicLevelPattern))
            errors.Add($"Mqtt:DeviceId '{DeviceId}' must be one topic level of 1..64 letters, digits, '.', '_' or '-' (no '/', '+', '#').");
        if (Endpoints is null || Endpoints.Count == 0) errors.Add("Mqtt:Endpoints must list at least one broker (mqtt://host:port or mqtts://host:port).");
        else
            foreach (var e in Endpoints)
            {
                if (!MqttEndpoint.TryParse(e, out var ep, out var why)) errors.Add($"Mqtt:Endpoints: '{Redact(e)}' is invalid: {why}");
                else if (Tls.RequireTls && !ep!.UseTls) errors.Add($"Mqtt:Endpoints: '{e}' is plain TCP but Mqtt:Tls:RequireTls is set; use mqtts://.");
            }
        CheckRange(errors, "ConnectTimeout", ConnectTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        CheckRange(errors, "PublishTimeout", PublishTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        CheckRange(errors, "ReconnectMinDelay", ReconnectMinDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        CheckRange(errors, "ReconnectMaxDelay", ReconnectMaxDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        if (ReconnectMaxDelay < ReconnectMinDelay) errors.Add($"Mqtt:ReconnectMaxDelay ({ReconnectMaxDelay}) must be at least Mqtt:ReconnectMinDelay ({ReconnectMinDelay}).");
        if (SessionExpirySeconds is < 1 or > uint.MaxValue) errors.Add("Mqtt:SessionExpirySeconds must be in 1..4294967295 (a persistent session needs a positive expiry).");
        if (EmbeddedWebSocketPort != 0 && EmbeddedWebSocketPort == EmbeddedPort)
            errors.Add($"Mqtt:EmbeddedWebSocketPort ({EmbeddedWebSocketPort}) must differ from Mqtt:EmbeddedPort (MQTT over TCP and over WebSockets need a port each).");
        if (!Enum.IsDefined(ProtocolVersion)) errors.Add($"Mqtt:ProtocolVersion '{ProtocolVersion}' is not V311 or V500.");
        if (string.IsNullOrEmpty(Username) && !string.IsNullOrEmpty(Password)) errors.Add("Mqtt:Password is set without Mqtt:Username.");
        if (Username is not null && Encoding.UTF8.GetByteCount(Username) > 65535) errors.Add("Mqtt:Username is too long.");
        if (Tls.ClientCertificateFile is { Length: > 0 } != Tls.ClientKeyFile is { Length: > 0 })
            errors.Add("Mqtt:Tls:ClientCertificateFile and Mqtt:Tls:ClientKeyFile must be given together.");
        if (Tls.AllowUntrusted && !string.IsNullOrEmpty(Tls.CaCertificateFile))
            errors.Add("Mqtt:Tls:AllowUntrusted contradicts Mqtt:Tls:CaCertificateFile; remove one.");
        if (Tls.AllowUntrusted && Tls.RequireTls)
            errors.Add("Mqtt:Tls:AllowUntrusted cannot be combined with Mqtt:Tls:RequireTls (production settings).");
        foreach (var (name, file) in new[] { ("CaCertificateFile", Tls.CaCertificateFile), ("ClientCertificateFile", Tls.ClientCertificateFile), ("ClientKeyFile", Tls.ClientKeyFile), ("CrlFile", Tls.CrlFile) })
            if (!string.IsNullOrEmpty(file) && !File.Exists(file)) errors.Add($"Mqtt:Tls:{name} '{file}' does not exist.");
        if (!string.IsNullOrEmpty(Tls.CrlFile))
        {
            if (string.IsNullOrEmpty(Tls.CaCertificateFile))
                errors.Add("Mqtt:Tls:CrlFile needs Mqtt:Tls:CaCertificateFile (the CA that signs the CRL).");
            else if (File.Exists(Tls.CrlFile) && File.Exists(Tls.CaCertificateFile))
            {
                // Read and verified now, so that a wrong file stops the start (exit 2) instead of every connection later.
                // Its time window is not a configuration error: an expired CRL refuses connections until a new one is installed.
                try
                {
                    var cas = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                    cas.ImportFromPemFile(Tls.CaCertificateFile);
                    RevocationList.LoadFile(Tls.CrlFile, cas);
                }
                catch (CertificateRevocationException e)
                {
                    errors.Add($"Mqtt:Tls:CrlFile: {e.Kind}: {e.Message}");
                }
                catch (System.Security.Cryptography.CryptographicException e)
                {
                    errors.Add($"Mqtt:Tls:CaCertificateFile '{Tls.CaCertificateFile}' cannot be read: {e.Message}");
                }
            }
        }
        // The outbox's own rules come from its validator, through [ValidateObjectMembers]; only its absence is checked here.
        if (Outbox is null) errors.Add("Mqtt:Outbox is required.");
        return errors.Select(e => new ValidationResult(e));

        static void CheckRange(List<string> list, string name, TimeSpan value, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max) list.Add($"Mqtt:{name} ({value}) must be between {min} and {max}.");
        }
    }

    /// <summary>Settings for logs: the password is never included.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"MqttTransportOptions {{ DeviceId = {DeviceId}, TopicPrefix = {TopicPrefix}, ClientId = {EffectiveClientId}, Endpoints = [{string.Join(", ", (Endpoints ?? []).Select(Redact))}], " +
            $"ProtocolVersion = {ProtocolVersion}, KeepAliveSeconds = {KeepAliveSeconds}, Reconnect = {ReconnectMinDelay}..{ReconnectMaxDelay} ±{ReconnectJitter:P0}, " +
            $"SessionExpirySeconds = {SessionExpirySeconds}, Username = {Username ?? "(none)"}, Password = {(string.IsNullOrEmpty(Password) ? "(none)" : "***")}, " +
            $"RequireTls = {Tls.RequireTls}, CaCertificateFile = {Tls.CaCertificateFile ?? "(system)"}, ClientCertificate = {Tls.ClientCertificateFile ?? "(none)"}, CrlFile = {Tls.CrlFile ?? "(none)"}, AllowUntrusted = {Tls.AllowUntrusted}, " +
            $"Outbox = {Outbox?.Directory} ({Outbox?.MaxBytes} bytes) }}");

    /// <summary>Removes user info (user:password@) from a URI-like string before it is logged.</summary>
    internal static string Redact(string endpoint)
    {
        var at = endpoint.IndexOf('@', StringComparison.Ordinal);
        var scheme = endpoint.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme >= 0 && at > scheme ? endpoint[..(scheme + 3)] + "***@" + endpoint[(at + 1)..] : endpoint;
    }
}

/// <summary>A parsed broker endpoint.</summary>
public sealed record MqttEndpoint(string Host, int Port, bool UseTls)
{
    public override string ToString() => $"{(UseTls ? "mqtts" : "mqtt")}://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}";

    public static bool TryParse(string? text, out MqttEndpoint? endpoint, out string? error)
    {
        endpoint = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            error = "not an absolute URI such as mqtt://127.0.0.1:1883";
            return false;
        }
        bool tls;
        switch (uri.Scheme)
        {
            case "mqtt": tls = false; break;
            case "mqtts": tls = true; break;
            default: error = $"scheme '{uri.Scheme}' is not mqtt or mqtts"; return false;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo)) { error = "credentials must not be in the URI; use Mqtt:Username and Mqtt:Password"; return false; }
        if (uri.AbsolutePath is not ("/" or "") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)) { error = "a path, query or fragment is not allowed"; return false; }
        if (string.IsNullOrEmpty(uri.Host)) { error = "the host is missing"; return false; }
        var port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port;
        if (port is < 1 or > 65535) { error = $"port {port} is out of range"; return false; }
        endpoint = new MqttEndpoint(uri.IdnHost.Trim('[', ']'), port, tls);
        return true;
    }
}

/// <summary>
/// Source-generated (reflection-free, trimming-safe) validator of <see cref="MqttTransportOptions"/>: its DataAnnotations,
/// the outbox's (<see cref="DurableOutboxOptions"/>, attributes and cross-field rule) and
/// <see cref="MqttTransportOptions.Validate"/>. For <c>services.AddSingleton&lt;IValidateOptions&lt;MqttTransportOptions&gt;,
/// MqttTransportOptionsValidator&gt;()</c> with <c>ValidateOnStart()</c>, or called directly.
/// </summary>
[OptionsValidator]
public sealed partial class MqttTransportOptionsValidator : IValidateOptions<MqttTransportOptions>
{
    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem (for code that is not given its options by a host).</summary>
    public static void ThrowIfInvalid(MqttTransportOptions options)
    {
        if (new MqttTransportOptionsValidator().Validate(MqttTransportOptions.SectionName, options) is { Failed: true } invalid)
            throw new OptionsValidationException(MqttTransportOptions.SectionName, typeof(MqttTransportOptions), invalid.Failures);
    }
}

/// <summary>The topic tree of one device (see docs/mqtt.md).</summary>
public sealed class MqttTopics(string prefix, string deviceId)
{
    public string Root { get; } = $"{prefix}/{deviceId}";

    /// <summary>Alerts: QoS 1, durable (outbox), not retained.</summary>
    public string Alerts => Root + "/alerts";

    /// <summary>Connection status: QoS 1, retained; "online" on connect, "offline" as last will and on shutdown.</summary>
    public string Status => Root + "/status";

    /// <summary>Vitals / trends: QoS 0, best effort, with message expiry.</summary>
    public string Vitals => Root + "/vitals";

    /// <summary>Other events (quality changes, episodes ended...): QoS 1 trend messages through the outbox.</summary>
    public string Events => Root + "/events";

    /// <summary>The open episodes (schema <c>ecgedge.active/1</c>): QoS 1, retained, through the outbox; re-published at
    /// every onset, update and offset, so a subscriber that arrives mid-episode learns of it.</summary>
    public string Active => Root + "/active";

    public static MqttTopics From(MqttTransportOptions options) => new(options.TopicPrefix, options.DeviceId);
}
