var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls("http://0.0.0.0:8080");
var app = builder.Build();
app.MapGet("/healthz", () => "ok");
await app.RunAsync().ConfigureAwait(false);
