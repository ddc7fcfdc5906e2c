using Parley.Core.Errors;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

public sealed class ProfileRulesTests
{
    [Theory]
    [InlineData("Ann.Lee@Example.com", "ann.lee@example.com")]
    [InlineData("a+tag@mail.example.co.uk", "a+tag@mail.example.co.uk")]
    public void An_address_is_kept_unique_by_its_lower_cased_form(string email, string normalized) =>
        Assert.Equal(normalized, ProfileRules.NormalizeEmail(email));

    [Theory]
    [InlineData("plain")]
    [InlineData("Ann <ann@example.com>")]
    [InlineData("ann@localhost")]
    [InlineData("ann @example.com")]
    [InlineData("ann@example.com, bob@example.com")]
    public void Anything_but_one_address_is_an_invalid_value_naming_the_field(string email)
    {
        var error = Assert.Throws<ParleyException>(() => ProfileRules.NormalizeEmail(email)).Error;
        Assert.Equal(("INVALID_FIELD_VALUE", "email"), (error.Code, error.Details?["field"]?.ToString()));
    }

    [Theory]
    [InlineData("https://cdn.example.com/a.png", true)]
    [InlineData("http://example.com/a", true)]
    [InlineData("ftp://example.com/a", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("/relative.png", false)]
    public void An_avatar_is_an_absolute_http_url(string url, bool valid)
    {
        var thrown = Record.Exception(() => ProfileRules.RequireAvatarUrl(url));
        Assert.Equal(valid, thrown is null);
    }
}
