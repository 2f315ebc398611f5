#!/usr/bin/env bash
# scripts/bench/java-engine.sh <port>: mongo-java-server in memory on 127.0.0.1:<port>, in the
# foreground (what it is for, what it needs and its settings: docs/benchmarks.md).
set -euo pipefail

MJS_VERSION=1.47.0
SLF4J_VERSION=2.0.17

root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/.tools/java/mongo-java-server-$MJS_VERSION"

fail() { echo "java-engine: $*" >&2; exit 1; }
port=${1:-}
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) \
  || fail "usage: scripts/bench/java-engine.sh <port> (listens on 127.0.0.1:<port> only)"
command -v java >/dev/null || fail "java (17 or later) is required"
command -v javac >/dev/null || fail "a JDK (javac, 17 or later) is required, not only a JRE"

if [ ! -f "$dir/.complete" ]; then
  command -v mvn >/dev/null || fail "mvn is required to fetch mongo-java-server $MJS_VERSION"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.bench</groupId><artifactId>java-engine</artifactId><version>0</version>
  <dependencies>
    <dependency><groupId>de.bwaldvogel</groupId>
      <artifactId>mongo-java-server-memory-backend</artifactId><version>$MJS_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$dir"
  mkdir -p "$dir"
  # --strict-checksums: a jar whose checksum does not match Maven Central's fails the fetch.
  mvn -B -q -C -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir/lib" \
    >"$work/mvn.log" 2>&1 \
    || fail "could not fetch mongo-java-server $MJS_VERSION from Maven Central: $(grep -m1 ERROR "$work/mvn.log" || tail -n1 "$work/mvn.log")"
  touch "$dir/.complete"
fi

# A launcher of our own binds the port given (InMemoryMongoServer.main binds localhost:27017),
# announces wire version 9 (the Node driver 7's minimum) and looks {_id: value, ...} filters up in
# the _id index (the stock server scans them: a migration turns quadratic). Rebuilt on change.
launcher=$(
  cat <<JAVA
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import java.util.Collection;
import java.util.List;

public class JavaEngine {
  /** Looks up {_id: value, ...more} by the _id index, then matches the whole filter. */
  static class IdLookupCollection extends MemoryCollection {
    IdLookupCollection(MemoryDatabase db, String name, CollectionOptions options, CursorRegistry cursors) {
      super(db, name, options, cursors);
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit,
        int batchSize, Document projection) {
      Object id = query.get("_id");
      if (query.size() > 1 && id != null && !(id instanceof Document)
          && !(id instanceof Collection) && !BsonRegularExpression.isRegularExpression(id)) {
        Document byId = new Document("_id", id);
        for (Index<Integer> index : getIndexes()) {
          if (index.canHandle(byId)) {
            return matchDocuments(query, index.getPositions(byId), orderBy, skip, limit, batchSize,
                projection);
          }
        }
      }
      return super.queryDocuments(query, orderBy, skip, limit, batchSize, projection);
    }
  }

  static class IdLookupDatabase extends MemoryDatabase {
    IdLookupDatabase(String name, CursorRegistry cursors) {
      super(name, cursors);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String name, CollectionOptions options) {
      return new IdLookupCollection(this, name, options, cursorRegistry);
    }
  }

  static class IdLookupBackend extends MemoryBackend {
    @Override
    public MemoryDatabase openOrCreateDatabase(String name) {
      return new IdLookupDatabase(name, getCursorRegistry());
    }
  }

  public static void main(String[] args) {
    boolean stock = "1".equals(System.getenv("JAVA_ENGINE_STOCK"));
    MongoVersion announced = new MongoVersion() {
      public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
      public int getWireVersion() { return 9; }
      public String toVersionString() { return "4.4.0-mongo-java-server-$MJS_VERSION"; }
    };
    MemoryBackend backend = stock ? new MemoryBackend() : new IdLookupBackend();
    MongoServer server = new MongoServer(backend.version(announced));
    server.bind("127.0.0.1", Integer.parseInt(args[0]));
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    System.err.println("java-engine: mongo-java-server $MJS_VERSION (in memory) listening on "
        + server.getLocalAddress() + "; announces wire version 9; "
        + (stock ? "stock query planning" : "_id index used for {_id: value, ...} filters"));
  }
}
JAVA
)
if [ ! -f "$dir/classes/JavaEngine.class" ] || [ "$launcher" != "$(cat "$dir/JavaEngine.java" 2>/dev/null)" ]; then
  rm -rf "$dir/classes"
  printf '%s\n' "$launcher" >"$dir/JavaEngine.java"
  javac -d "$dir/classes" -cp "$dir/lib/*" "$dir/JavaEngine.java" >"$dir/javac.log" 2>&1 \
    || fail "could not compile the launcher: $(head -n1 "$dir/javac.log")"
fi

exec java -Xmx"${JAVA_ENGINE_XMX:-6g}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$dir/classes:$dir/lib/*" JavaEngine "$port"
