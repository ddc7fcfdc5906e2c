using Npgsql;
using NpgsqlTypes;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>
/// Webhook subscriptions and deliveries on PostgreSQL. Claims take rows with <c>FOR UPDATE SKIP LOCKED</c>, so nodes
/// claiming at once split the due deliveries instead of waiting on each other; an attempt's outcome locks its delivery
/// and subscription rows, so concurrent outcomes of one subscription count its failures one after the other. Also the
/// <c>webhook</c> dead-letter kind: the dead (failed) deliveries.
/// </summary>
public sealed class PostgresWebhookStore(NpgsqlDataSource dataSource) : IWebhookStore, IDeadLetterKind
{
    private const string SubscriptionColumns = "id, url, event_types, secret, enabled, description, created_at, updated_at, consecutive_failures, disabled_at";

    private const string DeliveryColumns = """
        d.id, d.subscription_id, d.event_id, d.event_type, d.aggregate_id, d.order_tx, d.order_pos, d.payload, d.created_at, d.status, d.attempts,
        d.next_attempt_at, d.last_status_code, d.last_error, d.error_type, d.delivered_at, d.dead_at, d.replays
        """;

    public string Kind => WebhookDeadLetters.Kind;

    public async Task<WebhookSubscription> CreateSubscriptionAsync(WebhookSubscription subscription, EventContext context, CancellationToken cancellationToken)
    {
        subscription = subscription with { CreatedAt = StoreTime.Truncate(subscription.CreatedAt), ConsecutiveFailures = 0, UpdatedAt = null };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand($"INSERT INTO webhook_subscriptions ({SubscriptionColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", connection, transaction))
        {
            BindSubscription(insert.Parameters, subscription);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookCreated, subscription, subscription.CreatedAt, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return subscription;
    }

    public async Task<WebhookSubscription?> GetSubscriptionAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await QuerySubscriptionsAsync(connection, null, "id = $1", [id], cancellationToken)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await QuerySubscriptionsAsync(connection, null, "true ORDER BY created_at, id", [], cancellationToken);
    }

    public async Task<WebhookSubscription?> UpdateSubscriptionAsync(Guid id, WebhookSubscriptionChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if ((await QuerySubscriptionsAsync(connection, transaction, "id = $1 FOR UPDATE", [id], cancellationToken)).SingleOrDefault() is not { } current)
        {
            return null;
        }

        var (next, eventType) = WebhookPlanner.Apply(current, change, now);
        if (eventType is not null)
        {
            await WriteSubscriptionAsync(connection, transaction, next, cancellationToken);
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(eventType, next, now, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    public async Task<bool> DeleteSubscriptionAsync(Guid id, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var deleted = await QuerySubscriptionsAsync(connection, transaction, "id = $1 FOR UPDATE", [id], cancellationToken);
        if (deleted is not [var current])
        {
            return false;
        }

        // The deliveries go with it (ON DELETE CASCADE).
        await using (var delete = new NpgsqlCommand("DELETE FROM webhook_subscriptions WHERE id = $1", connection, transaction))
        {
            delete.Parameters.Add(new() { Value = id });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookDeleted, current, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<int> EnqueueAsync(IReadOnlyList<WebhookDelivery> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return 0;
        }

        // One set-based statement; the join drops deliveries of a subscription deleted meanwhile, the unique key repeats.
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, aggregate_id, order_tx, order_pos, payload, status, next_attempt_at, created_at)
            SELECT t.id, t.subscription_id, t.event_id, t.event_type, t.aggregate_id, t.order_tx, t.order_pos, t.payload, 'pending', t.created_at, t.created_at
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::timestamptz[])
                 AS t(id, subscription_id, event_id, event_type, aggregate_id, order_tx, order_pos, payload, created_at)
            JOIN webhook_subscriptions s ON s.id = t.subscription_id
            ON CONFLICT DO NOTHING
            """);
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.Id).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.SubscriptionId).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.EventId).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.EventType).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.AggregateId).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.Order.Transaction).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.Order.Position).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => d.Payload).ToArray() });
        insert.Parameters.Add(new() { Value = deliveries.Select(d => StoreTime.Truncate(d.CreatedAt)).ToArray() });
        return await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken)
    {
        // SKIP LOCKED: a head another node is claiming right now is skipped, and the deliveries behind it stay behind it
        // (it is still pending in this statement's snapshot), so no aggregate ever has two deliveries in flight.
        await using var claim = dataSource.CreateCommand($"""
            WITH due AS (
                SELECT h.id FROM webhook_deliveries h JOIN webhook_subscriptions s ON s.id = h.subscription_id
                WHERE h.status = 'pending' AND h.next_attempt_at <= $1 AND (h.claimed_until IS NULL OR h.claimed_until < $1) AND s.enabled
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries e
                      WHERE e.subscription_id = h.subscription_id AND e.aggregate_id = h.aggregate_id AND e.status = 'pending'
                        AND (e.order_tx, e.order_pos) < (h.order_tx, h.order_pos))
                ORDER BY h.order_tx, h.order_pos
                LIMIT $4
                FOR UPDATE OF h SKIP LOCKED)
            UPDATE webhook_deliveries d SET claimed_by = $2, claimed_until = $3
            FROM due WHERE d.id = due.id
            RETURNING {DeliveryColumns}
            """);
        claim.Parameters.Add(new() { Value = now });
        claim.Parameters.Add(new() { Value = claimant });
        claim.Parameters.Add(new() { Value = claimUntil });
        claim.Parameters.Add(new() { Value = limit });
        return [.. (await ReadDeliveriesAsync(claim, cancellationToken)).OrderBy(d => d.Order)];
    }

    public async Task<WebhookAttemptResult?> RecordAttemptAsync(WebhookAttempt attempt, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The subscription's row first, then the delivery's: the order a delete takes them in (its cascade), so the two never deadlock.
        await using (var owner = new NpgsqlCommand("SELECT subscription_id FROM webhook_deliveries WHERE id = $1", connection, transaction))
        {
            owner.Parameters.Add(new() { Value = attempt.DeliveryId });
            if (await owner.ExecuteScalarAsync(cancellationToken) is not Guid subscriptionId
                || (await QuerySubscriptionsAsync(connection, transaction, "id = $1 FOR UPDATE", [subscriptionId], cancellationToken)).SingleOrDefault() is not { } subscription
                || (await QueryDeliveriesAsync(connection, transaction, "d.id = $1 FOR UPDATE", [attempt.DeliveryId], cancellationToken)).SingleOrDefault() is not { } delivery)
            {
                return null;
            }

            return await RecordAsync(connection, transaction, delivery, subscription, attempt, context, cancellationToken);
        }
    }

    private static async Task<WebhookAttemptResult> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WebhookDelivery delivery, WebhookSubscription subscription,
        WebhookAttempt attempt, EventContext context, CancellationToken cancellationToken)
    {
        var result = WebhookPlanner.Apply(delivery, subscription, attempt);
        await WriteDeliveryAsync(connection, transaction, result.Delivery, cancellationToken);
        await WriteSubscriptionAsync(connection, transaction, result.Subscription, cancellationToken);
        if (result.Disabled)
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Webhook(DomainEventTypes.WebhookDisabled, result.Subscription, attempt.Now, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public async Task<WebhookDelivery?> GetDeliveryAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await QueryDeliveriesAsync(connection, null, "d.id = $1", [id], cancellationToken)).SingleOrDefault();
    }

    public async Task<WebhookDeliveryPage> ListDeliveriesAsync(Guid subscriptionId, string? status, EventCursor? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await QueryDeliveriesAsync(connection, null, """
            d.subscription_id = $1 AND ($2::text IS NULL OR d.status = $2) AND ($3::bigint IS NULL OR (d.order_tx, d.order_pos) < ($3::bigint, $4))
            ORDER BY d.order_tx DESC, d.order_pos DESC
            LIMIT $5
            """, [subscriptionId, status, before?.Transaction, before?.Position ?? 0L, limit + 1], cancellationToken);
        var hasMore = Paging.TrimProbe(rows, limit);
        return new WebhookDeliveryPage(rows, hasMore ? rows[^1].Order : null);
    }

    public Task<WebhookDelivery?> RedeliverAsync(Guid subscriptionId, Guid deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        ResetAsync("d.id = $1 AND d.subscription_id = $2", [deliveryId, subscriptionId], now, cancellationToken);

    public async Task<IReadOnlyList<WebhookDelivery>> ListDeadAsync(int limit, string? errorType, Guid? after, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await QueryDeliveriesAsync(connection, null, """
            d.status = 'failed' AND ($1::text IS NULL OR d.error_type = $1)
              AND ($2::uuid IS NULL OR (d.dead_at, d.id) < (SELECT a.dead_at, a.id FROM webhook_deliveries a WHERE a.id = $2::uuid))
            ORDER BY d.dead_at DESC, d.id DESC
            LIMIT $3
            """, [errorType, after, limit], cancellationToken);
    }

    public async Task<bool> DiscardAsync(Guid deliveryId, CancellationToken cancellationToken)
    {
        await using var update = dataSource.CreateCommand("UPDATE webhook_deliveries SET status = 'discarded' WHERE id = $1 AND status = 'failed'");
        update.Parameters.Add(new() { Value = deliveryId });
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<long> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var count = dataSource.CreateCommand("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'");
        return Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    Task<IReadOnlyList<DeadLetterRecord>> IDeadLetterKind.ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) =>
        WebhookDeadLetters.ListAsync(this, query, cancellationToken);

    Task<DeadLetterRecord?> IDeadLetterKind.GetAsync(string id, CancellationToken cancellationToken) => WebhookDeadLetters.GetAsync(this, id, cancellationToken);

    async Task<bool> IDeadLetterKind.ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var deliveryId) && await ResetAsync("d.id = $1 AND d.status = 'failed'", [deliveryId], now, cancellationToken) is not null;

    Task<bool> IDeadLetterKind.DiscardAsync(string id, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var deliveryId) ? DiscardAsync(deliveryId, cancellationToken) : Task.FromResult(false);

    private async Task<WebhookDelivery?> ResetAsync(string where, object?[] values, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if ((await QueryDeliveriesAsync(connection, transaction, where + " FOR UPDATE", values, cancellationToken)).SingleOrDefault() is not { } row)
        {
            return null;
        }

        var next = WebhookPlanner.Redeliver(row, now);
        await WriteDeliveryAsync(connection, transaction, next, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    private static async Task WriteDeliveryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WebhookDelivery d, CancellationToken cancellationToken)
    {
        // A written state ends the claim: the delivery is done, or waits for its next attempt like any other.
        await using var update = new NpgsqlCommand("""
            UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_status_code = $5, last_error = $6, error_type = $7,
                delivered_at = $8, dead_at = $9, replays = $10, claimed_by = NULL, claimed_until = NULL
            WHERE id = $1
            """, connection, transaction);
        update.Parameters.Add(new() { Value = d.Id });
        update.Parameters.Add(new() { Value = d.Status });
        update.Parameters.Add(new() { Value = d.Attempts });
        update.Parameters.Add(new() { Value = d.NextAttemptAt });
        update.Parameters.Add(new() { Value = (object?)d.LastStatusCode ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        update.Parameters.Add(new() { Value = (object?)d.LastError ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        update.Parameters.Add(new() { Value = (object?)d.ErrorType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        update.Parameters.Add(new() { Value = (object?)d.DeliveredAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        update.Parameters.Add(new() { Value = (object?)d.DeadAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        update.Parameters.Add(new() { Value = d.Replays });
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task WriteSubscriptionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WebhookSubscription s, CancellationToken cancellationToken)
    {
        // created_at never changes; it is in the WHERE so every bound value is used (an unused $n has no type to infer).
        await using var update = new NpgsqlCommand("""
            UPDATE webhook_subscriptions SET url = $2, event_types = $3, secret = $4, enabled = $5, description = $6, updated_at = $8, consecutive_failures = $9, disabled_at = $10
            WHERE id = $1 AND created_at = $7
            """, connection, transaction);
        BindSubscription(update.Parameters, s);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void BindSubscription(NpgsqlParameterCollection p, WebhookSubscription s)
    {
        p.Add(new() { Value = s.Id });
        p.Add(new() { Value = s.Url });
        p.Add(new() { Value = s.EventTypes.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new() { Value = s.Secret });
        p.Add(new() { Value = s.Enabled });
        p.Add(new() { Value = (object?)s.Description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new() { Value = s.CreatedAt });
        p.Add(new() { Value = (object?)s.UpdatedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new() { Value = s.ConsecutiveFailures });
        p.Add(new() { Value = (object?)s.DisabledAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
    }

    private static async Task<List<WebhookSubscription>> QuerySubscriptionsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, object?[] values,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE {where}", connection, transaction);
        Bind(command.Parameters, values);
        var rows = new List<WebhookSubscription>();
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            rows.Add(new WebhookSubscription(r.GetGuid(0), r.GetString(1), r.GetFieldValue<string[]>(2), r.GetString(3), r.GetBoolean(4), r.IsDBNull(5) ? null : r.GetString(5),
                PostgresRows.Time(r, 6))
            {
                UpdatedAt = r.IsDBNull(7) ? null : PostgresRows.Time(r, 7),
                ConsecutiveFailures = r.GetInt32(8),
                DisabledAt = r.IsDBNull(9) ? null : PostgresRows.Time(r, 9),
            });
        }

        return rows;
    }

    private static async Task<List<WebhookDelivery>> QueryDeliveriesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, object?[] values,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE {where}", connection, transaction);
        Bind(command.Parameters, values);
        return await ReadDeliveriesAsync(command, cancellationToken);
    }

    private static void Bind(NpgsqlParameterCollection parameters, object?[] values)
    {
        foreach (var value in values)
        {
            parameters.Add(value switch
            {
                null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                _ => new NpgsqlParameter { Value = value },
            });
        }
    }

    private static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<WebhookDelivery>();
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            rows.Add(new WebhookDelivery(r.GetGuid(0), r.GetGuid(1), r.GetGuid(2), r.GetString(3), r.GetString(4), new EventCursor(r.GetInt64(5), r.GetInt64(6)), r.GetString(7),
                PostgresRows.Time(r, 8))
            {
                Status = r.GetString(9),
                Attempts = r.GetInt32(10),
                NextAttemptAt = PostgresRows.Time(r, 11),
                LastStatusCode = r.IsDBNull(12) ? null : r.GetInt32(12),
                LastError = r.IsDBNull(13) ? null : r.GetString(13),
                ErrorType = r.IsDBNull(14) ? null : r.GetString(14),
                DeliveredAt = r.IsDBNull(15) ? null : PostgresRows.Time(r, 15),
                DeadAt = r.IsDBNull(16) ? null : PostgresRows.Time(r, 16),
                Replays = r.GetInt32(17),
            });
        }

        return rows;
    }
}
