// hbase_v2.thrift - the part of HBase's Thrift2 interface (THBaseService) that ecom calls.
//
// Thrift2 is the API whose put carries a timestamp on every cell, so a whole batch of session
// events, each cell stamped with its own event time, is one putMultiple call. Field ids, types
// and method names follow the interface the HBase Thrift2 server (port 9091, binary protocol,
// unframed) implements; only the calls, structs, fields and exceptions ecom uses are declared
// (the generated reader skips any other field a reply carries), so the generated c_glib client
// stays small. The build generates the C client from this file with thrift --gen c_glib;
// nothing generated is kept in the repository.

// A table name: namespace (absent: "default") and the name within it.
struct TTableName {
  1: optional binary ns,
  2: required binary qualifier
}

// One cell: family and qualifier apart (no ':'), its value and its own timestamp.
struct TColumnValue {
  1: required binary family,
  2: required binary qualifier,
  3: required binary value,
  4: optional i64 timestamp
}

// The cells of one row to put.
struct TPut {
  1: required binary row,
  2: required list<TColumnValue> columnValues
}

// A row as a scanner returns it, cells in HBase's order (family, then qualifier).
struct TResult {
  1: optional binary row,
  2: required list<TColumnValue> columnValues
}

// Scanner parameters: [startRow, stopRow), rows fetched per round trip, versions per cell.
struct TScan {
  1: optional binary startRow,
  2: optional binary stopRow,
  4: optional i32 caching,
  5: optional i32 maxVersions = 1,
  12: optional bool cacheBlocks
}

// A column family to create (name without ':').
struct TColumnFamilyDescriptor {
  1: required binary name,
  10: optional i32 maxVersions
}

struct TTableDescriptor {
  1: required TTableName tableName,
  2: optional list<TColumnFamilyDescriptor> columns
}

exception TIOError {
  1: optional string message,
  2: optional bool canRetry
}

exception TIllegalArgument {
  1: optional string message
}

service THBaseService {
  // Applies every put; each cell keeps the timestamp it carries.
  void putMultiple(1: required binary table, 2: required list<TPut> tputs)
    throws (1: TIOError io)

  i32 openScanner(1: required binary table, 2: required TScan tscan) throws (1: TIOError io)

  // The next rows of the scanner; an empty list once it is exhausted.
  list<TResult> getScannerRows(1: required i32 scannerId, 2: i32 numRows = 1)
    throws (1: TIOError io, 2: TIllegalArgument ia)

  void closeScanner(1: required i32 scannerId) throws (1: TIOError io, 2: TIllegalArgument ia)

  bool tableExists(1: TTableName tableName) throws (1: TIOError io)

  void createTable(1: required TTableDescriptor desc) throws (1: TIOError io)

  void disableTable(1: required TTableName tableName) throws (1: TIOError io)

  void deleteTable(1: required TTableName tableName) throws (1: TIOError io)
}
