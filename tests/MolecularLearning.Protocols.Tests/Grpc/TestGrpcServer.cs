using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MolecularLearning.Protocols.Grpc;

namespace MolecularLearning.Protocols.Tests.Grpc;

/// <summary>Kestrel on a free loopback port with a <see cref="GrpcEndpoint"/> as the whole application.</summary>
public sealed class TestGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGrpcServer(WebApplication app, GrpcEndpoint endpoint, Uri address)
    {
        _app = app;
        Endpoint = endpoint;
        Address = address;
    }

    public GrpcEndpoint Endpoint { get; }
    public Uri Address { get; }

    public static async Task<TestGrpcServer> StartAsync(Action<GrpcEndpoint> map, int maxMessageBytes = GrpcEndpoint.DefaultMaxReceiveMessageBytes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            GrpcEndpoint.Listen(k, "127.0.0.1:0");
            // Far below Kestrel's default (30 MB): streams longer than this pass only because the endpoint
            // lifts the body limit for gRPC calls (the per-message limit is what applies).
            k.Limits.MaxRequestBodySize = 64 * 1024;
        });
        var app = builder.Build();
        var endpoint = new GrpcEndpoint(maxMessageBytes);
        map(endpoint);
        app.Run(endpoint.HandleAsync);
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestGrpcServer(app, endpoint, new Uri(bound));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
