using System.Device.Gpio;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>Outcome of waiting for DRDY.</summary>
public enum DataReadyResult
{
    /// <summary>DRDY fell: a frame is ready.</summary>
    Ready,
    /// <summary>No falling edge within the timeout.</summary>
    TimedOut,
    /// <summary>The source behind an emulated device has ended (never on hardware).</summary>
    EndOfStream,
}

/// <summary>One wait on DRDY.</summary>
/// <param name="Result">What happened.</param>
/// <param name="Timestamp">When the (latest) falling edge happened, on the signal's own monotonic clock.</param>
/// <param name="Edges">Falling edges seen since the previous wait (more than 1: frames were overwritten before being read).</param>
public readonly record struct DataReadyEvent(DataReadyResult Result, TimeSpan Timestamp, int Edges);

/// <summary>
/// The DRDY line: lets the driver wait for the next frame. Implemented on a GPIO line (<see cref="GpioDataReadySignal"/>)
/// and by the emulator (virtual or real time).
/// </summary>
public interface IDataReadySignal : IDisposable
{
    /// <summary>Forgets edges seen so far (called right before START).</summary>
    void Arm();

    /// <summary>Waits for the next falling edge, at most <paramref name="timeout"/>.</summary>
    ValueTask<DataReadyEvent> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// DRDY on a GPIO line: a falling-edge callback (<see cref="GpioController.RegisterCallbackForPinValueChangedEvent"/>)
/// counts edges and timestamps the latest with the <see cref="TimeProvider"/>; the driver awaits a semaphore.
/// Edge counts above one reveal frames overwritten before they were read.
/// </summary>
public sealed class GpioDataReadySignal : IDataReadySignal
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly bool _ownsController;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private readonly PinChangeEventHandler _handler;
    private int _edges;
    private long _lastEdgeTicks;
    private bool _disposed;

    /// <param name="controller">GPIO controller of the chip DRDY is on.</param>
    /// <param name="pin">Line offset of DRDY.</param>
    /// <param name="timeProvider">Clock for the edge timestamps.</param>
    /// <param name="ownsController">Dispose the controller with this object.</param>
    public GpioDataReadySignal(GpioController controller, int pin, TimeProvider? timeProvider = null, bool ownsController = false)
    {
        _controller = controller;
        _pin = pin;
        _ownsController = ownsController;
        _time = timeProvider ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
        if (!_controller.IsPinOpen(pin)) _controller.OpenPin(pin, PinMode.Input);
        else _controller.SetPinMode(pin, PinMode.Input);
        _handler = OnEdge;
        _controller.RegisterCallbackForPinValueChangedEvent(pin, PinEventTypes.Falling, _handler);
    }

    private void OnEdge(object sender, PinValueChangedEventArgs e)
    {
        Volatile.Write(ref _lastEdgeTicks, _time.GetTimestamp());
        Interlocked.Increment(ref _edges);
        _signal.Release();
    }

    public void Arm()
    {
        Interlocked.Exchange(ref _edges, 0);
        while (_signal.Wait(0)) { }
    }

    public async ValueTask<DataReadyEvent> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero || !await _signal.WaitAsync(remaining, cancellationToken).ConfigureAwait(false))
                return new DataReadyEvent(DataReadyResult.TimedOut, Now(), 0);
            var edges = Interlocked.Exchange(ref _edges, 0);
            if (edges == 0) continue;  // a release for edges an earlier wait already counted
            return new DataReadyEvent(DataReadyResult.Ready, _time.GetElapsedTime(_origin, Volatile.Read(ref _lastEdgeTicks)), edges);
        }
    }

    private TimeSpan Now() => _time.GetElapsedTime(_origin);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _controller.UnregisterCallbackForPinValueChangedEvent(_pin, _handler); }
        catch (InvalidOperationException) { }
        if (_ownsController) _controller.Dispose();
        _signal.Dispose();
    }
}
