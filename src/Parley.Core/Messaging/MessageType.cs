namespace Parley.Core.Messaging;

public static class MessageTypes
{
    public const string Text = "text";
    public const string Image = "image";
    public const string File = "file";
    public const string Audio = "audio";
    public const string Video = "video";
    public const string Location = "location";
    public const string System = "system";
    public const string BookingUpdate = "booking_update";
    public const string PaymentUpdate = "payment_update";

    /// <summary>A poll (M9): the content is its question, the send's <c>poll</c> its options.</summary>
    public const string Poll = "poll";

    public static readonly IReadOnlyList<string> All = [Text, Image, File, Audio, Video, Location, System, BookingUpdate, PaymentUpdate, Poll];

    /// <summary>The server writes system messages itself; a client may not forge one.</summary>
    public static readonly IReadOnlyList<string> ClientSendable = [Text, Image, File, Audio, Video, Location, BookingUpdate, PaymentUpdate, Poll];

    public static bool IsClientSendable(string type) => ClientSendable.Contains(type, StringComparer.Ordinal);
}
