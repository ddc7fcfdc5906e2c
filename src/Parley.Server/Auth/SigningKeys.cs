using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Hosting;

namespace Parley.Server.Auth;

/// <summary>
/// RS256 signing keys kept as PKCS#8 PEM files in {DataDirectory}/keys, one per key id. The newest signs;
/// all of them validate, so rotating is "drop a new key in, retire the old one after the token lifetime".
/// On first start with no key, one is generated: never a hard-coded secret.
/// </summary>
public sealed class SigningKeys
{
    private readonly List<RsaSecurityKey> _keys;

    public SigningKeys(string directory, ILogger<SigningKeys> logger)
    {
        Directory.CreateDirectory(directory);
        var files = Directory.GetFiles(directory, "*.pem").OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            var keyId = $"{DateTimeOffset.UtcNow:yyyyMMddHHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
            var path = Path.Combine(directory, keyId + ".pem");
            using var rsa = RSA.Create(2048);
            var temp = path + ".tmp";
            File.WriteAllText(temp, rsa.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.Move(temp, path);
            Log.SigningKeyGenerated(logger, keyId, path);
            files.Add(path);
        }

        _keys = files.Select(Load).ToList();
    }

    public RsaSecurityKey Current => _keys[^1];

    public IReadOnlyList<SecurityKey> ValidationKeys => _keys;

    private static RsaSecurityKey Load(string path)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(path));
        return new RsaSecurityKey(rsa) { KeyId = Path.GetFileNameWithoutExtension(path) };
    }
}
