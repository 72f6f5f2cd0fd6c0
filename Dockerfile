# SaeGuard CLI image: a self-contained `dotnet publish` on a runtime-deps base (no SDK, no
# shared runtime in the final image). Build: docker build -t saeguard:0.1.0 .
# Run:   docker run --rm -v $PWD:/work saeguard:0.1.0 extract --input /work/corpus.jsonl --out /work/acts
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/SaeGuard.Cli/SaeGuard.Cli.csproj -c Release -r linux-x64 --self-contained true \
      -p:UseAppHost=true -o /out \
 && rm -f /out/*.pdb

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
RUN useradd --uid 10001 --create-home saeguard
COPY --from=build /out /opt/saeguard
ENV DOTNET_gcServer=0 \
    PATH="/opt/saeguard:${PATH}"
RUN ln -s /opt/saeguard/SaeGuard.Cli /opt/saeguard/saeguard
USER saeguard
WORKDIR /work
ENTRYPOINT ["/opt/saeguard/SaeGuard.Cli"]
CMD ["--help"]
