// hbase_v1.thrift - the part of the HBase Thrift (v1) interface that ecom calls.
//
// Field ids, types and method names follow the interface the HBase Thrift server (port 9090,
// binary protocol, unframed) implements; only the calls, structs and exceptions used here are
// declared, so the generated c_glib client stays small. The build generates the C client from
// this file with thrift-compiler --gen c_glib; nothing generated is kept in the repository.

typedef binary Text
typedef binary Bytes
typedef i32 ScannerID

// A cell value with the timestamp it was written with.
struct TCell {
  1: Bytes value,
  2: i64 timestamp
}

// A column family to create; the name ends with ':'.
struct ColumnDescriptor {
  1: Text name,
  2: i32 maxVersions = 3,
  3: string compression = "NONE",
  4: bool inMemory = 0,
  5: string bloomFilterType = "NONE",
  6: i32 bloomFilterVectorSize = 0,
  7: i32 bloomFilterNbHashes = 0,
  8: bool blockCacheEnabled = 0,
  9: i32 timeToLive = 0x7fffffff
}

// One put or delete of a column ("family:qualifier").
struct Mutation {
  1: bool isDelete = 0,
  2: Text column,
  3: Text value,
  4: bool writeToWAL = 1
}

// The mutations of one row.
struct BatchMutation {
  1: Text row,
  2: list<Mutation> mutations
}

struct TColumn {
  1: Text columnName,
  2: TCell cell
}

// A row as returned by gets and scanners.
struct TRowResult {
  1: Text row,
  2: optional map<Text, TCell> columns,
  3: optional list<TColumn> sortedColumns
}

// Scanner parameters.
struct TScan {
  1: optional Text startRow,
  2: optional Text stopRow,
  3: optional i64 timestamp,
  4: optional list<Text> columns,
  5: optional i32 caching,
  6: optional Text filterString,
  7: optional i32 batchSize,
  8: optional bool sortColumns,
  9: optional bool reversed,
  10: optional bool cacheBlocks
}

exception IOError {
  1: string message,
  2: bool canRetry
}

exception IllegalArgument {
  1: string message
}

exception AlreadyExists {
  1: string message
}

service Hbase {
  list<Text> getTableNames() throws (1: IOError io)

  void createTable(1: Text tableName, 2: list<ColumnDescriptor> columnFamilies)
    throws (1: IOError io, 2: IllegalArgument ia, 3: AlreadyExists exist)

  void deleteTable(1: Text tableName) throws (1: IOError io)

  void disableTable(1: Bytes tableName) throws (1: IOError io)

  bool isTableEnabled(1: Bytes tableName) throws (1: IOError io)

  // Applies every row batch; all cells get the given timestamp.
  void mutateRowsTs(1: Text tableName, 2: list<BatchMutation> rowBatches, 3: i64 timestamp,
                    4: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  list<TRowResult> getRow(1: Text tableName, 2: Text row, 3: map<Text, Text> attributes)
    throws (1: IOError io)

  ScannerID scannerOpenWithScan(1: Text tableName, 2: TScan scan, 3: map<Text, Text> attributes)
    throws (1: IOError io)

  ScannerID scannerOpenWithPrefix(1: Text tableName, 2: Text startAndPrefix,
                                  3: list<Text> columns, 4: map<Text, Text> attributes)
    throws (1: IOError io)

  list<TRowResult> scannerGetList(1: ScannerID id, 2: i32 nbRows)
    throws (1: IOError io, 2: IllegalArgument ia)

  void scannerClose(1: ScannerID id) throws (1: IOError io, 2: IllegalArgument ia)
}
