using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// Webhook subscriptions and deliveries in the embedded store, behind the one write gate: a claim is one UPDATE, so
/// two claimants never take one row, and each subscription change commits with its domain event. Also the
/// <c>webhook</c> dead-letter kind: the dead (failed) deliveries.
/// </summary>
public sealed class SqliteWebhookStore(SqliteDatabase db) : IWebhookStore, IDeadLetterKind
{
    private const string SubscriptionColumns = "id, url, event_types, secret, enabled, description, created_at, updated_at, consecutive_failures, disabled_at";

    private const string DeliveryColumns = """
        d.id, d.subscription_id, d.event_id, d.event_type, d.aggregate_id, d.order_tx, d.order_pos, d.payload, d.created_at, d.status, d.attempts,
        d.next_attempt_at, d.last_status_code, d.last_error, d.error_type, d.delivered_at, d.dead_at, d.replays
        """;

    public string Kind => WebhookDeadLetters.Kind;

    public Task<WebhookSubscription> CreateSubscriptionAsync(WebhookSubscription subscription, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            subscription = subscription with { CreatedAt = StoreTime.Truncate(subscription.CreatedAt), ConsecutiveFailures = 0, UpdatedAt = null };
            await using (var insert = SqliteDatabase.Command(connection, $"""
                INSERT INTO webhook_subscriptions ({SubscriptionColumns}) VALUES ($id, $url, $types, $secret, $enabled, $description, $created, $updated, $failures, $disabled)
                """, transaction))
            {
                BindSubscription(insert.Parameters, subscription);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookCreated, subscription, subscription.CreatedAt, context), cancellationToken);
            return subscription;
        }, cancellationToken);

    public Task<WebhookSubscription?> GetSubscriptionAsync(Guid id, CancellationToken cancellationToken) =>
        db.ReadAsync<WebhookSubscription?>(async connection => await ReadSubscriptionAsync(connection, null, id, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsAsync(CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<WebhookSubscription>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"SELECT {SubscriptionColumns} FROM webhook_subscriptions ORDER BY created_at, id");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<WebhookSubscription>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(ReadSubscription(reader));
            }

            return rows;
        }, cancellationToken);

    public Task<WebhookSubscription?> UpdateSubscriptionAsync(Guid id, WebhookSubscriptionChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync<WebhookSubscription?>(async (connection, transaction) =>
        {
            if (await ReadSubscriptionAsync(connection, transaction, id, cancellationToken) is not { } current)
            {
                return null;
            }

            var (next, eventType) = WebhookPlanner.Apply(current, change, now);
            if (eventType is not null)
            {
                await WriteSubscriptionAsync(connection, transaction, next, cancellationToken);
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(eventType, next, now, context), cancellationToken);
            }

            return next;
        }, cancellationToken);

    public Task<bool> DeleteSubscriptionAsync(Guid id, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            if (await ReadSubscriptionAsync(connection, transaction, id, cancellationToken) is not { } current)
            {
                return false;
            }

            await using (var delete = SqliteDatabase.Command(connection, "DELETE FROM webhook_deliveries WHERE subscription_id = $id; DELETE FROM webhook_subscriptions WHERE id = $id;", transaction))
            {
                delete.Parameters.AddWithValue("$id", id.ToString());
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookDeleted, current, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public async Task<int> EnqueueAsync(IReadOnlyList<WebhookDelivery> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return 0;
        }

        return await db.WriteAsync(async (connection, transaction) =>
        {
            await using var insert = SqliteDatabase.Command(connection, """
                INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, aggregate_id, order_tx, order_pos, payload, status, next_attempt_at, created_at)
                SELECT $id, $s, $e, $type, $aggregate, $tx, $pos, $payload, 'pending', $created, $created
                WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $s)
                ON CONFLICT DO NOTHING
                """, transaction);
            var added = 0;
            foreach (var d in deliveries)
            {
                insert.Parameters.Clear();
                insert.Parameters.AddWithValue("$id", d.Id.ToString());
                insert.Parameters.AddWithValue("$s", d.SubscriptionId.ToString());
                insert.Parameters.AddWithValue("$e", d.EventId.ToString());
                insert.Parameters.AddWithValue("$type", d.EventType);
                insert.Parameters.AddWithValue("$aggregate", d.AggregateId);
                insert.Parameters.AddWithValue("$tx", d.Order.Transaction);
                insert.Parameters.AddWithValue("$pos", d.Order.Position);
                insert.Parameters.AddWithValue("$payload", d.Payload);
                insert.Parameters.AddWithValue("$created", SqliteTime.Ms(d.CreatedAt));
                added += await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            return added;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken)
    {
        // A read first: an idle queue polled every interval must not take the write gate the ingest path needs.
        return await db.AnyDueAsync("webhook_deliveries", "status = 'pending' AND next_attempt_at <= $now AND (claimed_until IS NULL OR claimed_until < $now)", now, cancellationToken)
            ? await ClaimAsync(now, claimant, claimUntil, limit, cancellationToken)
            : [];
    }

    private Task<IReadOnlyList<WebhookDelivery>> ClaimAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        db.WriteAsync<IReadOnlyList<WebhookDelivery>>(async (connection, transaction) =>
        {
            // The write gate serializes claims, so the head check below cannot race another claimant's UPDATE.
            await using var command = SqliteDatabase.Command(connection, $"""
                UPDATE webhook_deliveries SET claimed_by = $me, claimed_until = $until
                WHERE id IN (
                    SELECT h.id FROM webhook_deliveries h JOIN webhook_subscriptions s ON s.id = h.subscription_id
                    WHERE h.status = 'pending' AND h.next_attempt_at <= $now AND (h.claimed_until IS NULL OR h.claimed_until < $now) AND s.enabled = 1
                      AND NOT EXISTS (
                          SELECT 1 FROM webhook_deliveries e
                          WHERE e.subscription_id = h.subscription_id AND e.aggregate_id = h.aggregate_id AND e.status = 'pending'
                            AND (e.order_tx, e.order_pos) < (h.order_tx, h.order_pos))
                    ORDER BY h.order_tx, h.order_pos
                    LIMIT $n)
                RETURNING {DeliveryColumns.Replace("d.", "", StringComparison.Ordinal)}
                """, transaction);
            command.Parameters.AddWithValue("$me", claimant);
            command.Parameters.AddWithValue("$until", SqliteTime.Ms(claimUntil));
            command.Parameters.AddWithValue("$now", SqliteTime.Ms(now));
            command.Parameters.AddWithValue("$n", limit);
            var claimed = await ReadDeliveriesAsync(command, cancellationToken);
            return [.. claimed.OrderBy(d => d.Order)];
        }, cancellationToken);

    public Task<WebhookAttemptResult?> RecordAttemptAsync(WebhookAttempt attempt, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync<WebhookAttemptResult?>(async (connection, transaction) =>
        {
            var delivery = (await QueryDeliveriesAsync(connection, transaction, "d.id = $id", p => p.AddWithValue("$id", attempt.DeliveryId.ToString()), cancellationToken))
                .SingleOrDefault();
            if (delivery is null || await ReadSubscriptionAsync(connection, transaction, delivery.SubscriptionId, cancellationToken) is not { } subscription)
            {
                return null;
            }

            var result = WebhookPlanner.Apply(delivery, subscription, attempt);
            await WriteDeliveryAsync(connection, transaction, result.Delivery, cancellationToken);
            await WriteSubscriptionAsync(connection, transaction, result.Subscription, cancellationToken);
            if (result.Disabled)
            {
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookDisabled, result.Subscription, attempt.Now, context), cancellationToken);
            }

            return result;
        }, cancellationToken);

    public Task<WebhookDelivery?> GetDeliveryAsync(Guid id, CancellationToken cancellationToken) =>
        db.ReadAsync<WebhookDelivery?>(async connection =>
            (await QueryDeliveriesAsync(connection, null, "d.id = $id", p => p.AddWithValue("$id", id.ToString()), cancellationToken)).SingleOrDefault(), cancellationToken);

    public Task<WebhookDeliveryPage> ListDeliveriesAsync(Guid subscriptionId, string? status, EventCursor? before, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var rows = await QueryDeliveriesAsync(connection, null, """
                d.subscription_id = $s AND ($status IS NULL OR d.status = $status) AND ($tx IS NULL OR (d.order_tx, d.order_pos) < ($tx, $pos))
                ORDER BY d.order_tx DESC, d.order_pos DESC
                LIMIT $n
                """, p =>
                {
                    p.AddWithValue("$s", subscriptionId.ToString());
                    p.AddWithValue("$status", (object?)status ?? DBNull.Value);
                    p.AddWithValue("$tx", before is { } b ? (object)b.Transaction : DBNull.Value);
                    p.AddWithValue("$pos", before is { } c ? (object)c.Position : DBNull.Value);
                    p.AddWithValue("$n", limit + 1);
                }, cancellationToken);
            var hasMore = Paging.TrimProbe(rows, limit);
            return new WebhookDeliveryPage(rows, hasMore ? rows[^1].Order : null);
        }, cancellationToken);

    public Task<WebhookDelivery?> RedeliverAsync(Guid subscriptionId, Guid deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        ResetAsync(deliveryId, "d.id = $id AND d.subscription_id = $s", p => p.AddWithValue("$s", subscriptionId.ToString()), now, cancellationToken);

    public Task<IReadOnlyList<WebhookDelivery>> ListDeadAsync(int limit, string? errorType, Guid? after, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<WebhookDelivery>>(async connection => await QueryDeliveriesAsync(connection, null, """
            d.status = 'failed' AND ($type IS NULL OR d.error_type = $type)
              AND ($after IS NULL OR (d.dead_at, d.id) < (SELECT a.dead_at, a.id FROM webhook_deliveries a WHERE a.id = $after))
            ORDER BY d.dead_at DESC, d.id DESC
            LIMIT $n
            """, p =>
            {
                p.AddWithValue("$type", (object?)errorType ?? DBNull.Value);
                p.AddWithValue("$after", after is { } a ? a.ToString() : DBNull.Value);
                p.AddWithValue("$n", limit);
            }, cancellationToken), cancellationToken);

    public Task<bool> DiscardAsync(Guid deliveryId, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            await using var update = SqliteDatabase.Command(connection, "UPDATE webhook_deliveries SET status = 'discarded' WHERE id = $id AND status = 'failed'", transaction);
            update.Parameters.AddWithValue("$id", deliveryId.ToString());
            return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);

    public Task<long> CountPendingAsync(CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            await using var count = SqliteDatabase.Command(connection, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'");
            return Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    Task<IReadOnlyList<DeadLetterRecord>> IDeadLetterKind.ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) =>
        WebhookDeadLetters.ListAsync(this, query, cancellationToken);

    Task<DeadLetterRecord?> IDeadLetterKind.GetAsync(string id, CancellationToken cancellationToken) => WebhookDeadLetters.GetAsync(this, id, cancellationToken);

    async Task<bool> IDeadLetterKind.ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var deliveryId) && await ResetAsync(deliveryId, "d.id = $id AND d.status = 'failed'", _ => { }, now, cancellationToken) is not null;

    Task<bool> IDeadLetterKind.DiscardAsync(string id, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var deliveryId) ? DiscardAsync(deliveryId, cancellationToken) : Task.FromResult(false);

    private Task<WebhookDelivery?> ResetAsync(Guid deliveryId, string where, Action<SqliteParameterCollection> parameters, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.WriteAsync<WebhookDelivery?>(async (connection, transaction) =>
        {
            var row = (await QueryDeliveriesAsync(connection, transaction, where, p =>
            {
                p.AddWithValue("$id", deliveryId.ToString());
                parameters(p);
            }, cancellationToken)).SingleOrDefault();
            if (row is null)
            {
                return null;
            }

            var next = WebhookPlanner.Redeliver(row, now);
            await WriteDeliveryAsync(connection, transaction, next, cancellationToken);
            return next;
        }, cancellationToken);

    private static async Task WriteDeliveryAsync(SqliteConnection connection, SqliteTransaction transaction, WebhookDelivery d, CancellationToken cancellationToken)
    {
        // A written state ends the claim: the delivery is done, or waits for its next attempt like any other.
        await using var update = SqliteDatabase.Command(connection, """
            UPDATE webhook_deliveries SET status = $status, attempts = $attempts, next_attempt_at = $next, last_status_code = $code, last_error = $error,
                error_type = $type, delivered_at = $delivered, dead_at = $dead, replays = $replays, claimed_by = NULL, claimed_until = NULL
            WHERE id = $id
            """, transaction);
        update.Parameters.AddWithValue("$id", d.Id.ToString());
        update.Parameters.AddWithValue("$status", d.Status);
        update.Parameters.AddWithValue("$attempts", d.Attempts);
        update.Parameters.AddWithValue("$next", SqliteTime.Ms(d.NextAttemptAt));
        update.Parameters.AddWithValue("$code", (object?)d.LastStatusCode ?? DBNull.Value);
        update.Parameters.AddWithValue("$error", (object?)d.LastError ?? DBNull.Value);
        update.Parameters.AddWithValue("$type", (object?)d.ErrorType ?? DBNull.Value);
        update.Parameters.AddWithValue("$delivered", d.DeliveredAt is { } delivered ? SqliteTime.Ms(delivered) : DBNull.Value);
        update.Parameters.AddWithValue("$dead", d.DeadAt is { } dead ? SqliteTime.Ms(dead) : DBNull.Value);
        update.Parameters.AddWithValue("$replays", d.Replays);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task WriteSubscriptionAsync(SqliteConnection connection, SqliteTransaction transaction, WebhookSubscription s, CancellationToken cancellationToken)
    {
        await using var update = SqliteDatabase.Command(connection, """
            UPDATE webhook_subscriptions SET url = $url, event_types = $types, secret = $secret, enabled = $enabled, description = $description,
                updated_at = $updated, consecutive_failures = $failures, disabled_at = $disabled
            WHERE id = $id
            """, transaction);
        BindSubscription(update.Parameters, s);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void BindSubscription(SqliteParameterCollection p, WebhookSubscription s)
    {
        p.AddWithValue("$id", s.Id.ToString());
        p.AddWithValue("$url", s.Url);
        p.AddWithValue("$types", JsonSerializer.Serialize([.. s.EventTypes], SqliteJsonContext.Default.StringArray));
        p.AddWithValue("$secret", s.Secret);
        p.AddWithValue("$enabled", s.Enabled ? 1 : 0);
        p.AddWithValue("$description", (object?)s.Description ?? DBNull.Value);
        p.AddWithValue("$created", SqliteTime.Ms(s.CreatedAt));
        p.AddWithValue("$updated", s.UpdatedAt is { } updated ? SqliteTime.Ms(updated) : DBNull.Value);
        p.AddWithValue("$failures", s.ConsecutiveFailures);
        p.AddWithValue("$disabled", s.DisabledAt is { } disabled ? SqliteTime.Ms(disabled) : DBNull.Value);
    }

    private static async Task<WebhookSubscription?> ReadSubscriptionAsync(SqliteConnection connection, SqliteTransaction? transaction, Guid id, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE id = $id", transaction);
        command.Parameters.AddWithValue("$id", id.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSubscription(reader) : null;
    }

    private static WebhookSubscription ReadSubscription(SqliteDataReader r) =>
        new(Guid.Parse(r.GetString(0)), r.GetString(1), JsonSerializer.Deserialize(r.GetString(2), SqliteJsonContext.Default.StringArray)!, r.GetString(3), r.GetInt64(4) == 1,
            r.IsDBNull(5) ? null : r.GetString(5), SqliteTime.FromMs(r.GetInt64(6)))
        {
            UpdatedAt = r.IsDBNull(7) ? null : SqliteTime.FromMs(r.GetInt64(7)),
            ConsecutiveFailures = r.GetInt32(8),
            DisabledAt = r.IsDBNull(9) ? null : SqliteTime.FromMs(r.GetInt64(9)),
        };

    private static async Task<List<WebhookDelivery>> QueryDeliveriesAsync(SqliteConnection connection, SqliteTransaction? transaction, string where,
        Action<SqliteParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE {where}", transaction);
        parameters(command.Parameters);
        return await ReadDeliveriesAsync(command, cancellationToken);
    }

    private static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<WebhookDelivery>();
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            rows.Add(new WebhookDelivery(Guid.Parse(r.GetString(0)), Guid.Parse(r.GetString(1)), Guid.Parse(r.GetString(2)), r.GetString(3), r.GetString(4),
                new EventCursor(r.GetInt64(5), r.GetInt64(6)), r.GetString(7), SqliteTime.FromMs(r.GetInt64(8)))
            {
                Status = r.GetString(9),
                Attempts = r.GetInt32(10),
                NextAttemptAt = SqliteTime.FromMs(r.GetInt64(11)),
                LastStatusCode = r.IsDBNull(12) ? null : r.GetInt32(12),
                LastError = r.IsDBNull(13) ? null : r.GetString(13),
                ErrorType = r.IsDBNull(14) ? null : r.GetString(14),
                DeliveredAt = r.IsDBNull(15) ? null : SqliteTime.FromMs(r.GetInt64(15)),
                DeadAt = r.IsDBNull(16) ? null : SqliteTime.FromMs(r.GetInt64(16)),
                Replays = r.GetInt32(17),
            });
        }

        return rows;
    }
}
