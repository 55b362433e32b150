using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Tests.Unit;

public class RedisConnectionTests
{
    [Theory]
    [InlineData("10.1.2.3:6379")]
    [InlineData("redis:6379,abortConnect=false")]
    public void AStoreBeyondLoopbackWithoutAPasswordIsRefusedNamingTheSetting(string connectionString)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => RedisFunctionStore.Connect(connectionString));

        Assert.Contains("has no password", refused.Message);
        Assert.Contains("ConnectionStrings:state", refused.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:6379")]
    [InlineData("localhost:6379")]
    [InlineData("[::1]:6379")]
    [InlineData("redis:6379,password=s3cret")]
    public void ALoopbackStoreOrOneWithAPasswordIsAccepted(string connectionString) =>
        RedisFunctionStore.RequirePasswordOffLoopback(StackExchange.Redis.ConfigurationOptions.Parse(connectionString));
}
