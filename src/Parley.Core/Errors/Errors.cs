namespace Parley.Core.Errors;

/// <summary>The stable error codes. Clients switch on these; never rename one (docs/errors.md).</summary>
public static class ErrorCodes
{
    public const string InvalidJson = "INVALID_JSON";
    public const string InvalidSchema = "INVALID_SCHEMA";
    public const string MissingRequiredField = "MISSING_REQUIRED_FIELD";
    public const string InvalidFieldType = "INVALID_FIELD_TYPE";
    public const string FieldTooLong = "FIELD_TOO_LONG";
    public const string InvalidFieldValue = "INVALID_FIELD_VALUE";
    public const string InvalidRecipient = "INVALID_RECIPIENT";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string InvalidCredentials = "INVALID_CREDENTIALS";
    public const string InvalidRefreshToken = "INVALID_REFRESH_TOKEN";
    public const string Forbidden = "FORBIDDEN";
    public const string NotConversationMember = "NOT_CONVERSATION_MEMBER";
    public const string ConversationNotFound = "CONVERSATION_NOT_FOUND";
    public const string MessageNotFound = "MESSAGE_NOT_FOUND";
    public const string UserNotFound = "USER_NOT_FOUND";
    public const string RouteNotFound = "ROUTE_NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string UsernameTaken = "USERNAME_TAKEN";
    public const string EmailTaken = "EMAIL_TAKEN";
    public const string ConversationInactive = "CONVERSATION_INACTIVE";
    public const string UserBlocked = "USER_BLOCKED";
    public const string RateLimited = "RATE_LIMITED";
    public const string EnqueueFailed = "ENQUEUE_FAILED";
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    public const string InternalError = "INTERNAL_ERROR";
    public const string InvalidText = "INVALID_TEXT";
    public const string ForbiddenRole = "FORBIDDEN_ROLE";
    public const string MemberNotFound = "MEMBER_NOT_FOUND";
    public const string MemberLimitReached = "MEMBER_LIMIT_REACHED";
    public const string InviteNotFound = "INVITE_NOT_FOUND";
    public const string InviteExpired = "INVITE_EXPIRED";

    // Users search, friends and blocks (M2, M3).
    public const string QueryTooShort = "QUERY_TOO_SHORT";
    public const string AlreadyFriends = "ALREADY_FRIENDS";
    public const string FriendRequestNotFound = "FRIEND_REQUEST_NOT_FOUND";
    public const string FriendshipRequired = "FRIENDSHIP_REQUIRED";

    // Changes to messages (M7, M8, M9).
    public const string NotMessageSender = "NOT_MESSAGE_SENDER";
    public const string EditWindowClosed = "EDIT_WINDOW_CLOSED";
    public const string MessageDeleted = "MESSAGE_DELETED";
    public const string PollClosed = "POLL_CLOSED";
    public const string NotAPoll = "NOT_A_POLL";

    // Reports and moderation (M9).
    public const string ReportNotFound = "REPORT_NOT_FOUND";
    public const string ReportAlreadyResolved = "REPORT_ALREADY_RESOLVED";

    // Push targets (P5).
    public const string DeviceNotFound = "DEVICE_NOT_FOUND";
    public const string PushPlatformUnavailable = "PUSH_PLATFORM_UNAVAILABLE";

    // Dead letters (E2).
    public const string DeadLetterNotFound = "DEAD_LETTER_NOT_FOUND";

    // Scheduled sends (M8).
    public const string ScheduledNotFound = "SCHEDULED_NOT_FOUND";
    public const string ScheduledAlreadySent = "SCHEDULED_ALREADY_SENT";

    // Webhooks (E5).
    public const string WebhookNotFound = "WEBHOOK_NOT_FOUND";
    public const string WebhookDeliveryNotFound = "WEBHOOK_DELIVERY_NOT_FOUND";
    // Read models and reconciliation (E1, E4).
    public const string EventHistoryIncomplete = "EVENT_HISTORY_INCOMPLETE";
    public const string ReconcileRunNotFound = "RECONCILE_RUN_NOT_FOUND";
}

/// <summary>Factories for every rejection, so status, code and label always travel together.</summary>
public static class Errors
{
    public static ParleyError InvalidJson(string detail) =>
        new ParleyError(400, ErrorCodes.InvalidJson, $"The request body is not valid JSON: {detail}", "invalid_json");

    public static ParleyError InvalidSchema(string message) =>
        new(400, ErrorCodes.InvalidSchema, message, "invalid_schema");

    public static ParleyError MissingField(string field) =>
        new ParleyError(400, ErrorCodes.MissingRequiredField, $"Missing required field: {field}", "missing_field").With("field", field);

    public static ParleyError WrongType(string field, string expected) =>
        new ParleyError(400, ErrorCodes.InvalidFieldType, $"Field '{field}' must be {expected}", "invalid_type")
            .With("field", field).With("expected", expected);

    public static ParleyError TooLong(string field, int max, int actual, string unit = "characters") =>
        new ParleyError(400, ErrorCodes.FieldTooLong, $"Field '{field}' is too long: {actual} {unit}, at most {max}", "too_long")
            .With("field", field).With("max", max).With("actual", actual).With("unit", unit);

    public static ParleyError InvalidValue(string field, string reason) =>
        new ParleyError(400, ErrorCodes.InvalidFieldValue, $"Field '{field}' is invalid: {reason}", "invalid_value").With("field", field);

    /// <summary>A string no store engine can hold: U+0000, or not valid Unicode (docs/api.md#text).</summary>
    public static ParleyError InvalidText(string field, string reason) =>
        new ParleyError(400, ErrorCodes.InvalidText, $"Field '{field}' {reason}", "invalid_text").With("field", field);

    public static ParleyError InvalidRecipient(string reason) =>
        new ParleyError(400, ErrorCodes.InvalidRecipient, reason, "invalid_recipient");

    public static ParleyError UnsupportedMediaType(string? contentType) =>
        new ParleyError(415, ErrorCodes.UnsupportedMediaType, "The request body must be application/json", "unsupported_media_type")
            .With("contentType", contentType);

    public static ParleyError PayloadTooLarge(long max) =>
        new ParleyError(413, ErrorCodes.PayloadTooLarge, $"The request body exceeds {max} bytes", "payload_too_large").With("maxBytes", max);

    public static ParleyError Unauthenticated(string? reason = null) =>
        new(401, ErrorCodes.Unauthenticated, reason ?? "A valid access token is required", "unauthenticated");

    public static ParleyError InvalidCredentials() =>
        new(401, ErrorCodes.InvalidCredentials, "Unknown username or wrong password", "invalid_credentials");

    public static ParleyError InvalidRefreshToken() =>
        new(401, ErrorCodes.InvalidRefreshToken, "The refresh token is unknown, expired, revoked or already used", "invalid_refresh_token");

    public static ParleyError Forbidden(string message) =>
        new(403, ErrorCodes.Forbidden, message, "forbidden");

    public static ParleyError NotMember(Guid conversationId) =>
        new ParleyError(403, ErrorCodes.NotConversationMember, "You are not a member of this conversation", "not_member")
            .With("conversationId", conversationId);

    public static ParleyError ConversationNotFound(Guid conversationId) =>
        new ParleyError(404, ErrorCodes.ConversationNotFound, "Conversation not found", "conversation_not_found")
            .With("conversationId", conversationId);

    public static ParleyError MessageNotFound(Guid messageId) =>
        new ParleyError(404, ErrorCodes.MessageNotFound, "Message not found", "message_not_found").With("messageId", messageId);

    public static ParleyError UserNotFound(Guid userId) =>
        new ParleyError(404, ErrorCodes.UserNotFound, "User not found", "user_not_found").With("userId", userId);

    public static ParleyError RouteNotFound(string path) =>
        new ParleyError(404, ErrorCodes.RouteNotFound, "No such endpoint", "route_not_found").With("path", path);

    public static ParleyError MethodNotAllowed(string method) =>
        new ParleyError(405, ErrorCodes.MethodNotAllowed, $"Method {method} is not allowed here", "method_not_allowed").With("method", method);

    public static ParleyError UsernameTaken(string username) =>
        new ParleyError(409, ErrorCodes.UsernameTaken, "That username is already registered", "username_taken").With("username", username);

    public static ParleyError EmailTaken() =>
        new ParleyError(409, ErrorCodes.EmailTaken, "That email address belongs to another account", "email_taken");

    public static ParleyError ConversationInactive(Guid conversationId, string status) =>
        new ParleyError(409, ErrorCodes.ConversationInactive, $"The conversation is {status}", "conversation_inactive")
            .With("conversationId", conversationId).With("status", status);

    /// <summary>The caller is a member, but their role (or the conversation's kind) does not allow the action.</summary>
    public static ParleyError ForbiddenRole(Guid conversationId, string action, string role, string? required) =>
        new ParleyError(403, ErrorCodes.ForbiddenRole,
                required is null ? $"Nobody may {action} in this kind of conversation" : $"Only a {required} or above may {action} here", "forbidden_role")
            .With("conversationId", conversationId).With("action", action).With("role", role).With("requiredRole", required);

    public static ParleyError MemberNotFound(Guid conversationId, Guid userId) =>
        new ParleyError(404, ErrorCodes.MemberNotFound, "That user is not a member of this conversation", "member_not_found")
            .With("conversationId", conversationId).With("userId", userId);

    public static ParleyError MemberLimitReached(Guid conversationId, int max) =>
        new ParleyError(409, ErrorCodes.MemberLimitReached, $"A conversation has at most {max} members", "member_limit_reached")
            .With("conversationId", conversationId).With("maxMembers", max);

    public static ParleyError InviteNotFound() =>
        new(404, ErrorCodes.InviteNotFound, "No such invite", "invite_not_found");

    /// <summary>One code for expired, used up and revoked: the holder can do nothing but ask for a new invite.</summary>
    public static ParleyError InviteExpired(string reason) =>
        new ParleyError(410, ErrorCodes.InviteExpired, $"This invite can no longer be used: it is {reason}", "invite_expired").With("reason", reason);

    public static ParleyError RateLimited(TimeSpan retryAfter) =>
        new ParleyError(429, ErrorCodes.RateLimited, "Too many requests; retry later", "rate_limited")
            .With("retryAfterSeconds", (int)Math.Ceiling(retryAfter.TotalSeconds));

    public static ParleyError EnqueueFailed() =>
        new(503, ErrorCodes.EnqueueFailed, "The message could not be confirmed as queued. Retry with the same clientMessageId: a retry never creates a second message.", "enqueue_failed");

    public static ParleyError ServiceUnavailable(string what) =>
        new ParleyError(503, ErrorCodes.ServiceUnavailable, $"{what} is unavailable right now; retry shortly", "service_unavailable")
            .With("retryAfterSeconds", 5);

    public static ParleyError Internal() =>
        new(500, ErrorCodes.InternalError, "An unexpected error occurred", "internal");

    public static ParleyError QueryTooShort(int min) =>
        new ParleyError(400, ErrorCodes.QueryTooShort, $"The search query needs at least {min} letters or digits", "query_too_short")
            .With("field", "query").With("min", min);

    /// <summary>The same answer whichever of the two made the block, so a blocked user learns no more than that they cannot.</summary>
    public static ParleyError UserBlocked(Guid userId) =>
        new ParleyError(409, ErrorCodes.UserBlocked, "You cannot interact with this user", "user_blocked").With("userId", userId);

    public static ParleyError AlreadyFriends(Guid userId) =>
        new ParleyError(409, ErrorCodes.AlreadyFriends, "You are already friends with this user", "already_friends").With("userId", userId);

    public static ParleyError FriendRequestNotFound(Guid requestId) =>
        new ParleyError(404, ErrorCodes.FriendRequestNotFound, "Friend request not found", "friend_request_not_found").With("requestId", requestId);

    public static ParleyError FriendshipRequired(Guid userId) =>
        new ParleyError(403, ErrorCodes.FriendshipRequired, "A direct conversation needs the other user to be your friend", "friendship_required")
            .With("userId", userId);

    public static ParleyError NotMessageSender(Guid messageId) =>
        new ParleyError(403, ErrorCodes.NotMessageSender, "Only the sender may edit this message", "not_message_sender").With("messageId", messageId);

    public static ParleyError EditWindowClosed(Guid messageId, TimeSpan window) =>
        new ParleyError(409, ErrorCodes.EditWindowClosed, $"A message can be edited for {(int)window.TotalSeconds} seconds after it was sent", "edit_window_closed")
            .With("messageId", messageId).With("editWindowSeconds", (int)window.TotalSeconds);

    public static ParleyError PollClosed(Guid messageId, DateTimeOffset closedAt) =>
        new ParleyError(409, ErrorCodes.PollClosed, "The poll is closed", "poll_closed").With("messageId", messageId).With("closedAt", closedAt);

    public static ParleyError NotAPoll(Guid messageId) =>
        new ParleyError(409, ErrorCodes.NotAPoll, "The message is not a poll", "not_a_poll").With("messageId", messageId);

    /// <summary>The message was deleted for everyone: nothing about it can change any more.</summary>
    public static ParleyError MessageDeleted(Guid messageId) =>
        new ParleyError(409, ErrorCodes.MessageDeleted, "The message was deleted", "message_deleted").With("messageId", messageId);

    public static ParleyError DeadLetterNotFound(string id) =>
        new ParleyError(404, ErrorCodes.DeadLetterNotFound, "Dead letter not found", "dead_letter_not_found").With("deadLetterId", id);

    public static ParleyError DeviceNotFound(Guid deviceId) =>
        new ParleyError(404, ErrorCodes.DeviceNotFound, "Device not found", "device_not_found").With("deviceId", deviceId);

    /// <summary>The platform is known but this server has no provider set up for it (Parley:Push).</summary>
    public static ParleyError PushPlatformUnavailable(string platform) =>
        new ParleyError(400, ErrorCodes.PushPlatformUnavailable, "This server does not send pushes on that platform", "push_platform_unavailable").With("platform", platform);

    public static ParleyError ReportNotFound(Guid reportId) =>
        new ParleyError(404, ErrorCodes.ReportNotFound, "Report not found", "report_not_found").With("reportId", reportId);

    public static ParleyError ReportAlreadyResolved(Guid reportId, string? action) =>
        new ParleyError(409, ErrorCodes.ReportAlreadyResolved, "The report was already resolved", "report_already_resolved").With("reportId", reportId).With("action", action);

    /// <summary>Unknown, or scheduled by someone else: the same answer, so ids of others' scheduled messages reveal nothing.</summary>
    public static ParleyError EventHistoryIncomplete(string detail) =>
        new(409, ErrorCodes.EventHistoryIncomplete, detail, "event_history_incomplete");

    public static ParleyError ReconcileRunNotFound(Guid runId) =>
        new ParleyError(404, ErrorCodes.ReconcileRunNotFound, "Reconciliation run not found", "reconcile_run_not_found").With("runId", runId);

    public static ParleyError ScheduledNotFound(Guid scheduledId) =>
        new ParleyError(404, ErrorCodes.ScheduledNotFound, "Scheduled message not found", "scheduled_not_found").With("scheduledId", scheduledId);

    public static ParleyError ScheduledAlreadySent(Guid scheduledId, Guid? messageId = null) =>
        new ParleyError(409, ErrorCodes.ScheduledAlreadySent, "The scheduled message has already been sent or is being sent", "scheduled_already_sent")
            .With("scheduledId", scheduledId).With("messageId", messageId);

    public static ParleyError WebhookNotFound(Guid webhookId) =>
        new ParleyError(404, ErrorCodes.WebhookNotFound, "Webhook subscription not found", "webhook_not_found").With("webhookId", webhookId);

    public static ParleyError WebhookDeliveryNotFound(Guid webhookId, Guid deliveryId) =>
        new ParleyError(404, ErrorCodes.WebhookDeliveryNotFound, "Webhook delivery not found", "webhook_delivery_not_found")
            .With("webhookId", webhookId).With("deliveryId", deliveryId);
}
