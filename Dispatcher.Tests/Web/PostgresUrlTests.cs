using Dispatcher.Web.Hosting;
using Npgsql;

namespace Dispatcher.Tests.Web;

public class PostgresUrlTests
{
    private const string Password = "s3cr3t-pw";

    private static NpgsqlConnectionStringBuilder Parse(string input) => new(PostgresUrl.ToConnectionString(input));

    [Fact]
    public void Url_maps_user_password_host_port_and_database()
    {
        var result = Parse($"postgres://app:{Password}@db.example.com:6543/dispatcher");

        Assert.Equal("app", result.Username);
        Assert.Equal(Password, result.Password);
        Assert.Equal("db.example.com", result.Host);
        Assert.Equal(6543, result.Port);
        Assert.Equal("dispatcher", result.Database);
    }

    [Fact]
    public void Postgresql_scheme_is_accepted()
    {
        Assert.Equal("db.example.com", Parse("postgresql://app@db.example.com/dispatcher").Host);
    }

    [Fact]
    public void Port_defaults_to_5432()
    {
        Assert.Equal(5432, Parse("postgres://app@db.example.com/dispatcher").Port);
    }

    [Fact]
    public void User_password_and_database_are_percent_decoded()
    {
        var result = Parse("postgres://app%40corp:p%40ss%3Aw%2Frd@db.example.com/my%20db");

        Assert.Equal("app@corp", result.Username);
        Assert.Equal("p@ss:w/rd", result.Password);
        Assert.Equal("my db", result.Database);
    }

    [Fact]
    public void Bracketed_ipv6_host_is_unwrapped()
    {
        var result = Parse("postgres://app@[::1]:6543/dispatcher");

        Assert.Equal("::1", result.Host);
        Assert.Equal(6543, result.Port);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("allow", SslMode.Allow)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("require", SslMode.Require)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    public void Sslmode_maps_to_npgsql_ssl_mode(string sslmode, SslMode expected)
    {
        Assert.Equal(expected, Parse($"postgres://app@db.example.com/dispatcher?sslmode={sslmode}").SslMode);
    }

    [Fact]
    public void Libpq_query_parameters_map_to_npgsql_keywords()
    {
        var result = Parse("postgres://app@db.example.com/dispatcher?application_name=dispatcher%20tests&connect_timeout=7");

        Assert.Equal("dispatcher tests", result.ApplicationName);
        Assert.Equal(7, result.Timeout);
    }

    [Fact]
    public void Npgsql_keywords_are_accepted_as_query_parameters()
    {
        var result = Parse("postgres://app@db.example.com/dispatcher?Maximum%20Pool%20Size=7&Pooling=false");

        Assert.Equal(7, result.MaxPoolSize);
        Assert.False(result.Pooling);
    }

    [Fact]
    public void Npgsql_connection_string_is_returned_unchanged()
    {
        const string connectionString = "Host=db.example.com;Port=6543;Username=app;Password=s3cr3t-pw;Database=dispatcher";

        Assert.Equal(connectionString, PostgresUrl.ToConnectionString(connectionString));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Host=db.example.com;Bogus=1")]
    [InlineData("just some text")]
    public void Invalid_connection_string_is_rejected(string input)
    {
        Assert.Throws<ArgumentException>(() => PostgresUrl.ToConnectionString(input));
    }

    [Theory]
    [InlineData("postgres://app:s3cr3t-pw@db.example.com:port/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw@db.example.com:70000/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw@/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw%zz@db.example.com/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw@[::1/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw@host1,host2/dispatcher")]
    [InlineData("postgres://app:s3cr3t-pw@db.example.com/dispatcher?sslmode=sometimes")]
    [InlineData("postgres://app:s3cr3t-pw@db.example.com/dispatcher?no_such_parameter=1")]
    [InlineData("postgres://app:s3cr3t-pw@db.example.com/dispatcher?s3cr3t-pw")]
    [InlineData("postgresx://app:s3cr3t-pw@db.example.com/dispatcher")]
    public void Malformed_input_is_rejected_without_revealing_the_password(string input)
    {
        var error = Assert.Throws<ArgumentException>(() => PostgresUrl.ToConnectionString(input));

        Assert.DoesNotContain(Password, error.ToString());
    }
}
