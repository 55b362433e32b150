using Microsoft.AspNetCore.Http;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Tests.Unit;

public class PollWindowTests
{
    [Theory]
    [InlineData(null, null, 60)]
    [InlineData(null, "text/event-stream", 1200)]
    [InlineData("5", null, 5)]
    [InlineData("0", null, 1)]
    [InlineData("-7", null, 1)]
    [InlineData("3600", "text/event-stream", 3600)]
    public void TheWindowFollowsTheHeaderWithTheCloudsDefaultsAndFloor(string? header, string? accept, int expected)
    {
        var request = Request(header, accept);
        Assert.Equal(expected, PollWindow.Parse(request, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("3601", "NVCF-POLL-SECONDS must be <= 3600")]
    [InlineData("soon", "failed to parse NVCF-POLL-SECONDS")]
    [InlineData("1.5", "failed to parse NVCF-POLL-SECONDS")]
    public void OutOfRangeOrNonIntegerValuesAreRejected(string header, string expectedError)
    {
        Assert.Null(PollWindow.Parse(Request(header, null), out var error));
        Assert.Equal(expectedError, error);
    }

    private static HttpRequest Request(string? pollSeconds, string? accept)
    {
        var context = new DefaultHttpContext();
        if (pollSeconds is not null)
        {
            context.Request.Headers[NvcfHeaders.PollSeconds] = pollSeconds;
        }

        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        return context.Request;
    }
}
