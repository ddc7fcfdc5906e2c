using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>One request a provider stand-in got, with the test's clock reading when it arrived.</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At, string Protocol)
{
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A real HTTP server on a free loopback port standing in for a push provider (FCM, APNs, a push service, a gateway)
/// where the real one cannot run here: it records every request and answers as the test says (a status, or never).
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private CancellationTokenSource _stopping = new();
    private int _inFlight;

    private PushReceiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The test's clock, read when a request arrives (a fake clock shows when the server tried).</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>The status to answer with, per request; null: never answer (a hanging provider) until disposed.</summary>
    public Func<ReceivedRequest, (int Status, string Body)?> Respond { get; set; } = _ => (201, "");

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    /// <summary>Requests received and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public IReadOnlyList<ReceivedRequest> To(string pathPrefix) => [.. _requests.Where(r => r.Path.StartsWith(pathPrefix, StringComparison.Ordinal))];

    public static async Task<PushReceiver> StartAsync(bool http2Only = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = http2Only ? HttpProtocols.Http2 : HttpProtocols.Http1));
        var app = builder.Build();
        var receiver = new PushReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Urls.First().Replace("http://[::]", "http://127.0.0.1", StringComparison.Ordinal));
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var request = new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body.ToArray(), Clock(), context.Request.Protocol);
        Interlocked.Increment(ref _inFlight);
        _requests.Enqueue(request);
        try
        {
            if (Respond(request) is not { } answer)
            {
                using var hang = CancellationTokenSource.CreateLinkedTokenSource(Volatile.Read(ref _stopping).Token, context.RequestAborted);
                await Task.Delay(Timeout.Infinite, hang.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                context.Response.StatusCode = 503;
                return;
            }

            context.Response.StatusCode = answer.Status;
            if (answer.Body.Length > 0)
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer.Body);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Every request held so far is answered 503 at once.</summary>
    public void ReleaseHanging()
    {
        var held = Interlocked.Exchange(ref _stopping, new CancellationTokenSource());
        held.Cancel();
        held.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

/// <summary>
/// A browser's side of a Web Push subscription (RFC 8291): its P-256 key pair and auth secret, and the decryption of
/// an aes128gcm body sent to it, written from the RFC here so the test checks the server's library, not itself.
/// </summary>
public sealed class WebPushSubscriber : IDisposable
{
    private readonly ECDiffieHellman _key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public byte[] Auth { get; } = RandomNumberGenerator.GetBytes(16);

    public byte[] PublicKey
    {
        get
        {
            var q = _key.ExportParameters(false).Q;
            return [0x04, .. q.X!, .. q.Y!];
        }
    }

    public object Subscription(Uri endpoint) => new
    {
        endpoint = endpoint.AbsoluteUri,
        keys = new { p256dh = System.Buffers.Text.Base64Url.EncodeToString(PublicKey), auth = System.Buffers.Text.Base64Url.EncodeToString(Auth) },
    };

    public string Decrypt(byte[] body)
    {
        var salt = body[..16];
        var recordSize = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        var idLength = body[20];
        var serverPublic = body[21..(21 + idLength)];
        var ciphertext = body[(21 + idLength)..];
        Assert.True(ciphertext.Length <= recordSize, "one record");

        using var server = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = serverPublic[1..33], Y = serverPublic[33..65] },
        });
        var shared = _key.DeriveRawSecretAgreement(server.PublicKey);
        byte[] keyInfo = [.. "WebPush: info"u8, 0x00, .. PublicKey, .. serverPublic];
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, Auth, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, [.. "Content-Encoding: aes128gcm"u8, 0x00]);
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, [.. "Content-Encoding: nonce"u8, 0x00]);
        var plain = new byte[ciphertext.Length - 16];
        using (var aes = new AesGcm(cek, 16))
        {
            aes.Decrypt(nonce, ciphertext[..^16], ciphertext[^16..], plain);
        }

        // The last record ends with the delimiter 0x02 and optional zero padding.
        var end = Array.FindLastIndex(plain, b => b != 0);
        Assert.Equal(0x02, plain[end]);
        return Encoding.UTF8.GetString(plain, 0, end);
    }

    public void Dispose() => _key.Dispose();
}
