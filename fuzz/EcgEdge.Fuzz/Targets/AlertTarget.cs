using System.Text;
using EcgEdge.Strips;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;

namespace EcgEdge.Fuzz.Targets;

/// <summary>
/// The input is an alert message as it arrives on the alerts topic (MQTT payload bytes, decoded as UTF-8 like the
/// watcher does) and as a saved alert file. <c>ecgedge watch</c>: <see cref="AlertWatcher.TryParseAlert"/>, then
/// <see cref="WatchVerb.Format"/> and the --save-dir file name; contract: no exception at all (a non-alert is
/// "malformed", false), and the file name stays inside the save folder. <c>ecgedge strip</c>:
/// <see cref="StripVerb.LoadAlert"/> and <see cref="StripRenderer.Parse"/>; contract: <see cref="StripFormatException"/>.
/// </summary>
internal sealed class AlertTarget : IFuzzTarget
{
    private string _dir = "";
    private string _saveDir = "";

    public void Setup(string workDirectory)
    {
        _dir = workDirectory;
        _saveDir = Path.Combine(workDirectory, "saved");
    }

    public void Run(byte[] input)
    {
        string payload = Encoding.UTF8.GetString(input);
        if (AlertWatcher.TryParseAlert(payload, out var alert, out var id))
        {
            _ = WatchVerb.Format(alert);
            string file = Path.GetFullPath(Path.Combine(_saveDir, WatchVerb.SaveFileName(id)));
            if (Path.GetDirectoryName(file) != _saveDir) throw new PropertyViolation($"alert id '{id}' names a file outside the save folder: {file}");
        }

        string path = Path.Combine(_dir, "alert.json");
        File.WriteAllBytes(path, input);
        var loaded = StripVerb.LoadAlert(path);
        StripRenderer.Parse(loaded.Strip);
    }

    public bool Expected(Exception e) => e is StripFormatException;
}
