using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Hosting;

namespace Parley.Server.Push;

/// <summary>
/// The server's VAPID key pair: the configured one, or else one made on first use and kept in the data directory
/// (<c>vapid-keys.json</c>), so browsers' subscriptions (made against the public key) survive a restart. Several nodes
/// must share a configured pair. Loaded on first use, not at start: no I/O in a constructor.
/// </summary>
public sealed class VapidKeys(IOptions<PushOptions> options, IOptions<ParleyOptions> node)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Public, string Private)? _keys;

    public string FilePath => Path.Combine(node.Value.ResolvedDataDirectory, "vapid-keys.json");

    public async ValueTask<(string PublicKey, string PrivateKey)> GetAsync(CancellationToken cancellationToken)
    {
        if (_keys is { } known)
        {
            return known;
        }

        var settings = options.Value.WebPush;
        if (!string.IsNullOrWhiteSpace(settings.PublicKey))
        {
            return (_keys = (settings.PublicKey!, settings.PrivateKey!)).Value;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_keys is { } loaded)
            {
                return loaded;
            }

            if (File.Exists(FilePath))
            {
                using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(FilePath, cancellationToken));
                return (_keys = (json.RootElement.GetProperty("publicKey").GetString()!, json.RootElement.GetProperty("privateKey").GetString()!)).Value;
            }

            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var parameters = key.ExportParameters(includePrivateParameters: true);
            var publicKey = Base64Url.EncodeToString([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]);
            var privateKey = Base64Url.EncodeToString(parameters.D!);
            Directory.CreateDirectory(node.Value.ResolvedDataDirectory);
            var temporary = FilePath + ".tmp";
            await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(new Dictionary<string, string> { ["publicKey"] = publicKey, ["privateKey"] = privateKey }), cancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.Move(temporary, FilePath, overwrite: false);
            return (_keys = (publicKey, privateKey)).Value;
        }
        finally
        {
            _gate.Release();
        }
    }
}
