// Converts vega-datasets' flights-3m.parquet (BTS on-time data) to CSV with the
// header departure,delay,distance,origin,destination. Run by scripts/fetch-flights,
// which installs hyparquet and hyparquet-compressors into --modules DIR first.
//
// Reads one row group at a time, so memory stays near one group (~270,000 rows)
// whatever the file size. The parquet `date` column is a TIMESTAMP that is NOT
// adjusted to UTC: a naive wall-clock time (BTS reports it in the origin
// airport's local time), written here as ISO 8601 without an offset.
//
// Usage: node flights-to-csv.mjs --modules DIR --input FILE.parquet --output FILE.csv [--quiet]
// Prints key=value statistics (rows, min_departure, max_departure, origins,
// seconds) on stdout when done; progress goes to stderr only on a terminal.

import { createRequire } from 'node:module'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const kColumns = ['date', 'delay', 'distance', 'origin', 'destination']
const kHeader = 'departure,delay,distance,origin,destination\n'

function Fail(message) {
  process.stderr.write(`flights-to-csv: ${message}\n`)
  process.exit(1)
}

function ParseArguments(argv) {
  const options = { quiet: false }
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]
    if (argument === '--quiet') {
      options.quiet = true
    } else if (['--modules', '--input', '--output'].includes(argument)) {
      if (i + 1 >= argv.length) Fail(`${argument} needs a value`)
      options[argument.slice(2)] = argv[++i]
    } else {
      Fail(`unknown argument '${argument}' (usage: --modules DIR --input FILE --output FILE [--quiet])`)
    }
  }
  for (const name of ['modules', 'input', 'output']) {
    if (!options[name]) Fail(`--${name} is required`)
  }
  return options
}

// Imports an ES module installed under modulesDir, which is outside this
// repository, so a bare `import 'hyparquet'` from here would not find it.
async function ImportInstalled(modulesDir, name) {
  const requireFromModules = createRequire(join(modulesDir, 'noop.js'))
  let resolved
  try {
    resolved = requireFromModules.resolve(name)
  } catch {
    Fail(`package '${name}' is not installed in ${modulesDir}; run scripts/fetch-flights`)
  }
  return import(pathToFileURL(resolved).href)
}

// Checks that the file has the five expected columns and that `date` is a
// naive (not UTC-adjusted) timestamp, so the conversion below is meaningful.
function CheckSchema(metadata, inputPath) {
  const byName = new Map(metadata.schema.slice(1).map(element => [element.name, element]))
  for (const name of kColumns) {
    if (!byName.has(name)) {
      Fail(`${inputPath} has no column '${name}' (columns: ${[...byName.keys()].join(', ')})`)
    }
  }
  const date = byName.get('date')
  const logical = date.logical_type
  if (date.type !== 'INT64' || logical?.type !== 'TIMESTAMP') {
    Fail(`${inputPath}: column 'date' is ${date.type}/${logical?.type ?? date.converted_type}, ` +
         'expected an INT64 TIMESTAMP')
  }
  if (logical.isAdjustedToUTC) {
    Fail(`${inputPath}: column 'date' is adjusted to UTC; this converter expects naive local times`)
  }
  if (logical.unit !== 'MICROS' && logical.unit !== 'MILLIS') {
    Fail(`${inputPath}: column 'date' has unit ${logical.unit}, expected MICROS or MILLIS`)
  }
}

// Formats a count of milliseconds since 1970-01-01T00:00:00 (wall clock, no
// zone) as YYYY-MM-DDTHH:MM:SS. Date's UTC fields carry the wall-clock fields
// unchanged because no offset is ever applied.
function FormatNaive(milliseconds) {
  if (milliseconds % 1000 !== 0) {
    Fail(`departure ${new Date(milliseconds).toISOString()} has fractional seconds; ` +
         'the CSV format holds whole seconds only')
  }
  return new Date(milliseconds).toISOString().slice(0, 19)
}

// Called once per dictionary entry (or per value on plain pages), so the
// string for each distinct departure minute is built once.
const kParsers = {
  timestampFromMicroseconds: micros => FormatNaive(Number(micros / 1000n)),
  timestampFromMilliseconds: millis => FormatNaive(Number(millis)),
}

function CsvField(value) {
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

class ProgressLine {
  constructor(total, enabled) {
    this.total_ = total
    this.enabled_ = enabled
    this.start_ = performance.now()
  }

  Update(done) {
    if (!this.enabled_) return
    const seconds = (performance.now() - this.start_) / 1000
    const rate = seconds > 0 ? Math.round(done / seconds) : 0
    const percent = Math.floor((100 * done) / this.total_)
    process.stderr.write(`\rflights-to-csv: ${done.toLocaleString('en-US')} / ` +
                         `${this.total_.toLocaleString('en-US')} rows (${percent}%), ` +
                         `${rate.toLocaleString('en-US')} rows/s   `)
  }

  Finish() {
    if (this.enabled_) process.stderr.write('\n')
  }
}

// Reads rows [groupStart, groupEnd) column by column; returns one array per
// name in kColumns, each holding exactly groupEnd - groupStart values.
async function ReadRowGroup(hyparquet, compressors, file, metadata, groupStart, groupEnd) {
  const columns = new Map(kColumns.map(name => [name, new Array(groupEnd - groupStart)]))
  await hyparquet.parquetRead({
    file, metadata, compressors, parsers: kParsers, columns: kColumns,
    rowStart: groupStart, rowEnd: groupEnd,
    onChunk({ columnName, columnData, rowStart }) {
      const target = columns.get(columnName)
      for (let i = 0; i < columnData.length; i++) {
        const row = rowStart + i
        if (row >= groupStart && row < groupEnd) target[row - groupStart] = columnData[i]
      }
    },
  })
  return kColumns.map(name => columns.get(name))
}

function WriteChunk(stream, text) {
  if (stream.write(text)) return Promise.resolve()
  return new Promise(resolve => stream.once('drain', resolve))
}

async function Main() {
  const options = ParseArguments(process.argv.slice(2))
  const hyparquet = await ImportInstalled(options.modules, 'hyparquet')
  const { compressors } = await ImportInstalled(options.modules, 'hyparquet-compressors')

  const started = performance.now()
  let file, metadata
  try {
    file = await hyparquet.asyncBufferFromFile(options.input)
    metadata = await hyparquet.parquetMetadataAsync(file)
  } catch (error) {
    Fail(`cannot read parquet file ${options.input}: ${error.message}`)
  }
  CheckSchema(metadata, options.input)
  const totalRows = Number(metadata.num_rows)

  const output = createWriteStream(options.output)
  const outputDone = new Promise((resolve, reject) => {
    output.on('finish', resolve)
    output.on('error', reject)
  })
  output.on('error', error => Fail(`cannot write ${options.output}: ${error.message}`))
  await WriteChunk(output, kHeader)

  const progress = new ProgressLine(totalRows, process.stderr.isTTY && !options.quiet)
  const origins = new Set()
  let minDeparture = null
  let maxDeparture = null
  let rowsDone = 0
  for (const group of metadata.row_groups) {
    const groupStart = rowsDone
    const groupEnd = groupStart + Number(group.num_rows)
    const data = await ReadRowGroup(hyparquet, compressors, file, metadata, groupStart, groupEnd)
    const [departures, delays, distances, originCodes, destinations] = data
    let text = ''
    for (let i = 0; i < groupEnd - groupStart; i++) {
      const departure = departures[i]
      const origin = originCodes[i]
      if (departure == null || delays[i] == null || distances[i] == null || origin == null ||
          destinations[i] == null) {
        const missing = kColumns.find((name, index) => data[index][i] == null)
        Fail(`${options.input}: row ${groupStart + i} has no value in column '${missing}'`)
      }
      if (minDeparture === null || departure < minDeparture) minDeparture = departure
      if (maxDeparture === null || departure > maxDeparture) maxDeparture = departure
      origins.add(origin)
      text += `${departure},${delays[i]},${distances[i]},${CsvField(origin)},${CsvField(destinations[i])}\n`
      if (text.length >= 1 << 20) {
        await WriteChunk(output, text)
        text = ''
      }
    }
    await WriteChunk(output, text)
    rowsDone = groupEnd
    progress.Update(rowsDone)
  }
  output.end()
  await outputDone
  progress.Finish()
  if (rowsDone !== totalRows) {
    Fail(`${options.input}: row groups hold ${rowsDone} rows but the footer says ${totalRows}`)
  }

  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`rows=${rowsDone}\nmin_departure=${minDeparture}\nmax_departure=${maxDeparture}\n` +
                       `origins=${origins.size}\nseconds=${seconds.toFixed(2)}\n`)
}

Main().catch(error => Fail(error.stack ?? String(error)))
