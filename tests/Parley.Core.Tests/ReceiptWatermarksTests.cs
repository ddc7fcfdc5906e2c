using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Core.Tests;

public sealed class ReceiptWatermarksTests
{
    [Fact]
    public void Default_watermarks_are_zero_and_everything_is_sent()
    {
        var marks = default(ReceiptWatermarks);

        Assert.Equal(0, marks.Delivered);
        Assert.Equal(0, marks.Read);
        Assert.Equal(MessageState.Sent, marks.StateOf(1));
    }

    [Fact]
    public void Advance_delivered_moves_forward_only()
    {
        var marks = new ReceiptWatermarks(5, 2);

        Assert.Equal(new ReceiptWatermarks(9, 2), marks.AdvanceDelivered(9));
        Assert.Equal(marks, marks.AdvanceDelivered(5));
        Assert.Equal(marks, marks.AdvanceDelivered(3));
    }

    [Fact]
    public void Advance_read_moves_forward_only()
    {
        var marks = new ReceiptWatermarks(10, 5);

        Assert.Equal(new ReceiptWatermarks(10, 8), marks.AdvanceRead(8));
        Assert.Equal(marks, marks.AdvanceRead(5));
        Assert.Equal(marks, marks.AdvanceRead(1));
    }

    [Fact]
    public void Read_implies_delivered()
    {
        var marks = new ReceiptWatermarks(3, 1).AdvanceRead(7);

        Assert.Equal(new ReceiptWatermarks(7, 7), marks);
        Assert.Equal(new ReceiptWatermarks(7, 7), default(ReceiptWatermarks).AdvanceRead(7));
    }

    [Fact]
    public void Advance_delivered_never_touches_read()
    {
        var marks = new ReceiptWatermarks(2, 2).AdvanceDelivered(9);

        Assert.Equal(2, marks.Read);
    }

    [Theory]
    [InlineData(1, MessageState.Read)]
    [InlineData(5, MessageState.Read)]
    [InlineData(6, MessageState.Delivered)]
    [InlineData(10, MessageState.Delivered)]
    [InlineData(11, MessageState.Sent)]
    public void State_of_a_sequence_follows_the_watermarks(long sequence, MessageState expected)
    {
        Assert.Equal(expected, new ReceiptWatermarks(10, 5).StateOf(sequence));
    }

    [Theory]
    [InlineData(MessageState.Pending, "pending")]
    [InlineData(MessageState.Sent, "sent")]
    [InlineData(MessageState.Delivered, "delivered")]
    [InlineData(MessageState.Read, "read")]
    [InlineData(MessageState.Failed, "failed")]
    public void States_have_their_wire_names(MessageState state, string wire)
    {
        Assert.Equal(wire, state.ToWire());
    }

    [Fact]
    public void An_unknown_state_has_no_wire_name()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ((MessageState)99).ToWire());
    }

    [Theory]
    [InlineData(3, 3, 3, MessageState.Read)]
    [InlineData(3, 3, 2, MessageState.Delivered)]
    [InlineData(3, 3, 0, MessageState.Delivered)]
    [InlineData(3, 2, 2, MessageState.Sent)]
    [InlineData(3, 0, 0, MessageState.Sent)]
    [InlineData(1, 1, 1, MessageState.Read)]
    [InlineData(0, 0, 0, MessageState.Sent)]
    public void Message_status_aggregates_over_all_recipients(int recipients, int delivered, int read, MessageState expected)
    {
        var status = new MessageStatusRecord(Message(), recipients, delivered, read);

        Assert.Equal(expected, status.State);
    }

    private static StoredMessage Message()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        return new StoredMessage(
            Guid.NewGuid(), Guid.NewGuid(), 1, Guid.NewGuid(), MessageTypes.Text, "hi", null, null,
            IdempotencyKeys.ContentHash("hi"), 2, Guid.NewGuid(), now, now);
    }
}
