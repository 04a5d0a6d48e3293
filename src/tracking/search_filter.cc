#include "tracking/search_filter.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <span>

namespace kiln::tracking {
namespace {

// ---------------------------------------------------------------------------
// What each entity lets a user name and compare (MLflow's search_utils).

enum class AttributeType { kString, kInteger };

struct AttributeSpec {
  std::string_view name;       // as the user writes it
  std::string_view canonical;  // what FilterTerm/OrderTerm carry
  AttributeType type;
  bool filterable;
  bool orderable;
  bool allows_in;      // IN (...) with a list of strings
  bool allows_not_in;  // NOT IN (...)
};

constexpr AttributeSpec kRunAttributes[] = {
    {"run_id", "run_id", AttributeType::kString, true, true, true, true},
    {"run_name", "run_name", AttributeType::kString, true, true, false, false},
    {"status", "status", AttributeType::kString, true, true, false, false},
    {"user_id", "user_id", AttributeType::kString, true, true, false, false},
    {"artifact_uri", "artifact_uri", AttributeType::kString, true, true, false, false},
    {"start_time", "start_time", AttributeType::kInteger, true, true, false, false},
    {"end_time", "end_time", AttributeType::kInteger, true, true, false, false},
    // MLflow's aliases (the UI's column titles).
    {"created", "start_time", AttributeType::kInteger, true, true, false, false},
    {"Created", "start_time", AttributeType::kInteger, true, true, false, false},
    {"run name", "run_name", AttributeType::kString, true, false, false, false},
    {"Run name", "run_name", AttributeType::kString, true, false, false, false},
    {"Run Name", "run_name", AttributeType::kString, true, false, false, false},
};

constexpr AttributeSpec kExperimentAttributes[] = {
    {"name", "name", AttributeType::kString, true, true, false, false},
    {"creation_time", "creation_time", AttributeType::kInteger, true, true, false, false},
    {"last_update_time", "last_update_time", AttributeType::kInteger, true, true, false, false},
    {"experiment_id", "experiment_id", AttributeType::kInteger, false, true, false, false},
};

constexpr AttributeSpec kRegisteredModelAttributes[] = {
    {"name", "name", AttributeType::kString, true, true, false, false},
    {"timestamp", "last_updated_timestamp", AttributeType::kInteger, false, true, false, false},
    {"last_updated_timestamp", "last_updated_timestamp", AttributeType::kInteger, false, true, false, false},
    {"creation_timestamp", "creation_timestamp", AttributeType::kInteger, false, true, false, false},
};

constexpr AttributeSpec kModelVersionAttributes[] = {
    {"name", "name", AttributeType::kString, true, true, false, false},
    {"version_number", "version_number", AttributeType::kInteger, true, true, false, false},
    {"run_id", "run_id", AttributeType::kString, true, false, true, false},
    {"source_path", "source_path", AttributeType::kString, true, false, false, false},
    {"creation_timestamp", "creation_timestamp", AttributeType::kInteger, false, true, false, false},
    {"last_updated_timestamp", "last_updated_timestamp", AttributeType::kInteger, false, true, false, false},
};

std::span<const AttributeSpec> AttributesOf(SearchEntity entity) {
  switch (entity) {
    case SearchEntity::kRuns:
      return kRunAttributes;
    case SearchEntity::kExperiments:
      return kExperimentAttributes;
    case SearchEntity::kRegisteredModels:
      return kRegisteredModelAttributes;
    case SearchEntity::kModelVersions:
      return kModelVersionAttributes;
  }
  return {};
}

const AttributeSpec* FindAttribute(SearchEntity entity, std::string_view name) {
  for (const AttributeSpec& spec : AttributesOf(entity)) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// "run_id, run_name, ..." without aliases, for error messages.
std::string AttributeNames(SearchEntity entity, bool for_order_by) {
  std::string names;
  for (const AttributeSpec& spec : AttributesOf(entity)) {
    if (spec.name != spec.canonical || !(for_order_by ? spec.orderable : spec.filterable)) continue;
    if (!names.empty()) names += ", ";
    names += spec.name;
  }
  if (entity == SearchEntity::kRegisteredModels && for_order_by) names += ", timestamp";
  return names;
}

std::optional<FilterKind> KindOfPrefix(SearchEntity entity, std::string_view prefix) {
  if (prefix == "attribute" || prefix == "attributes") return FilterKind::kAttribute;
  if (prefix == "tag" || prefix == "tags") return FilterKind::kTag;
  if (entity != SearchEntity::kRuns) return std::nullopt;
  if (prefix == "attr" || prefix == "run") return FilterKind::kAttribute;
  if (prefix == "metric" || prefix == "metrics") return FilterKind::kMetric;
  if (prefix == "param" || prefix == "params" || prefix == "parameter" || prefix == "parameters") {
    return FilterKind::kParam;
  }
  if (prefix == "dataset" || prefix == "datasets") return FilterKind::kDataset;
  return std::nullopt;
}

std::string_view PrefixNames(SearchEntity entity) {
  return entity == SearchEntity::kRuns ? "metrics, params, tags, attributes or datasets"
                                       : "attributes or tags";
}

std::string_view IdentifierHint(SearchEntity entity) {
  switch (entity) {
    case SearchEntity::kRuns:
      return "metrics.<key>, params.<key>, tags.<key>, attributes.<name> or datasets.<name>";
    case SearchEntity::kExperiments:
      return "name, creation_time, last_update_time or tags.<key>";
    case SearchEntity::kRegisteredModels:
      return "name or tags.<key>";
    case SearchEntity::kModelVersions:
      return "name, version_number, run_id, source_path or tags.<key>";
  }
  return "";
}

constexpr std::array<std::string_view, 3> kDatasetKeys = {"name", "digest", "context"};

// ---------------------------------------------------------------------------
// Comparator sets.

using Comparators = std::initializer_list<Comparator>;
constexpr Comparators kNumericComparators = {Comparator::kEqual,   Comparator::kNotEqual,
                                             Comparator::kLess,    Comparator::kLessEqual,
                                             Comparator::kGreater, Comparator::kGreaterEqual};
constexpr Comparators kStringComparators = {Comparator::kEqual, Comparator::kNotEqual, Comparator::kLike,
                                            Comparator::kILike};

// "=, !=, LIKE or ILIKE"
std::string JoinComparators(const std::vector<Comparator>& comparators) {
  std::string text;
  for (size_t i = 0; i < comparators.size(); ++i) {
    if (i > 0) text += i + 1 == comparators.size() ? " or " : ", ";
    text += ComparatorText(comparators[i]);
  }
  return text;
}

bool Contains(std::initializer_list<Comparator> comparators, Comparator wanted) {
  for (Comparator comparator : comparators) {
    if (comparator == wanted) return true;
  }
  return false;
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// ---------------------------------------------------------------------------
// The parser: a cursor over the text that reads one construct at a time.

struct RawIdentifier {
  std::optional<std::string> prefix;
  std::string key;
  size_t start = 0;       // first character of the identifier
  size_t key_start = 0;   // first character of the key (after "prefix.")
  std::string_view text;  // the identifier as written
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view what, SearchEntity entity)
      : text_(text), what_(what), entity_(entity) {}

  Result<std::vector<FilterTerm>> ParseFilter();
  Result<OrderTerm> ParseOrderClause();

 private:
  Status Error(size_t position, std::string_view detail) const {
    return InvalidArgument("Invalid " + std::string(what_) + " '" + std::string(text_) + "' at position " +
                           std::to_string(position) + ": " + std::string(detail));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  // True if the case-insensitive keyword starts at the cursor as a whole word.
  bool LooksAtKeyword(std::string_view keyword) const;
  bool ConsumeKeyword(std::string_view keyword);

  Result<FilterTerm> ParseTerm();
  Result<RawIdentifier> ParseIdentifier();
  Result<std::string> ParseQuoted();
  Result<Comparator> ParseComparator(std::string_view after);
  Result<FilterValue> ParseValue(Comparator comparator);
  Result<FilterValue> ParseList(Comparator comparator);
  Result<FilterValue> ParseNumber();

  // Resolves the identifier's kind and key, for filters or for ordering.
  Result<FilterTerm> Resolve(const RawIdentifier& identifier, bool for_order_by);
  Status CheckComparison(const FilterTerm& term, const AttributeSpec* attribute, size_t comparator_position,
                         size_t value_position);

  std::string_view text_;
  std::string_view what_;
  SearchEntity entity_;
  size_t pos_ = 0;
};

bool Parser::LooksAtKeyword(std::string_view keyword) const {
  if (text_.size() - pos_ < keyword.size()) return false;
  for (size_t i = 0; i < keyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text_[pos_ + i])) != keyword[i]) return false;
  }
  size_t end = pos_ + keyword.size();
  return end == text_.size() || !IsWordChar(text_[end]);
}

bool Parser::ConsumeKeyword(std::string_view keyword) {
  if (!LooksAtKeyword(keyword)) return false;
  pos_ += keyword.size();
  return true;
}

Result<std::vector<FilterTerm>> Parser::ParseFilter() {
  std::vector<FilterTerm> terms;
  SkipSpace();
  if (AtEnd()) return terms;
  while (true) {
    KILN_ASSIGN_OR_RETURN(FilterTerm term, ParseTerm());
    terms.push_back(std::move(term));
    SkipSpace();
    if (AtEnd()) return terms;
    size_t keyword_position = pos_;
    if (ConsumeKeyword("AND")) {
      SkipSpace();
      if (AtEnd()) return Error(pos_, "expected a comparison after AND");
      continue;
    }
    if (LooksAtKeyword("OR")) {
      return Error(keyword_position, "OR is not supported; MLflow filters join comparisons with AND");
    }
    return Error(pos_, "expected AND or the end of the filter");
  }
}

Result<FilterTerm> Parser::ParseTerm() {
  KILN_ASSIGN_OR_RETURN(RawIdentifier identifier, ParseIdentifier());
  SkipSpace();
  size_t comparator_position = pos_;
  KILN_ASSIGN_OR_RETURN(Comparator comparator, ParseComparator(identifier.text));
  SkipSpace();
  size_t value_position = pos_;
  KILN_ASSIGN_OR_RETURN(FilterValue value, ParseValue(comparator));

  KILN_ASSIGN_OR_RETURN(FilterTerm term, Resolve(identifier, /*for_order_by=*/false));
  term.comparator = comparator;
  term.value = std::move(value);
  const AttributeSpec* attribute =
      term.kind == FilterKind::kAttribute ? FindAttribute(entity_, identifier.key) : nullptr;
  KILN_RETURN_IF_ERROR(CheckComparison(term, attribute, comparator_position, value_position));
  return term;
}

Result<RawIdentifier> Parser::ParseIdentifier() {
  RawIdentifier identifier;
  identifier.start = pos_;
  auto read_part = [this]() -> Result<std::string> {
    if (Peek() == '`' || Peek() == '"') return ParseQuoted();
    size_t start = pos_;
    while (!AtEnd() && IsWordChar(Peek())) ++pos_;
    if (pos_ == start) {
      return Error(pos_, "expected an identifier such as " + std::string(IdentifierHint(entity_)));
    }
    return std::string(text_.substr(start, pos_ - start));
  };
  KILN_ASSIGN_OR_RETURN(std::string first, read_part());
  identifier.key_start = identifier.start;
  if (Peek() == '.') {
    identifier.prefix = std::move(first);
    ++pos_;
    identifier.key_start = pos_;
    if (Peek() == '`' || Peek() == '"') {
      KILN_ASSIGN_OR_RETURN(identifier.key, ParseQuoted());
    } else {
      // An unquoted key may itself contain dots: tags.mlflow.source.type.
      size_t start = pos_;
      while (!AtEnd() && (IsWordChar(Peek()) || (Peek() == '.' && IsWordChar(Peek(1))))) ++pos_;
      if (pos_ == start) {
        return Error(pos_, "expected a key after '" + *identifier.prefix +
                               ".' (quote keys with special characters: `my key`)");
      }
      identifier.key = std::string(text_.substr(start, pos_ - start));
    }
  } else {
    identifier.key = std::move(first);
  }
  if (identifier.key.empty()) return Error(identifier.key_start, "the key is empty");
  identifier.text = text_.substr(identifier.start, pos_ - identifier.start);
  return identifier;
}

// Reads '...', "..." or `...` at the cursor; a doubled quote is one quote.
Result<std::string> Parser::ParseQuoted() {
  char quote = Peek();
  size_t start = pos_++;
  std::string content;
  while (true) {
    if (AtEnd()) return Error(start, std::string("unterminated quoted text (missing ") + quote + ")");
    char c = text_[pos_++];
    if (c != quote) {
      content.push_back(c);
    } else if (Peek() == quote) {
      content.push_back(quote);
      ++pos_;
    } else {
      return content;
    }
  }
}

Result<Comparator> Parser::ParseComparator(std::string_view after) {
  size_t start = pos_;
  auto symbol = [&](std::string_view text) {
    if (text_.substr(pos_, text.size()) != text) return false;
    pos_ += text.size();
    return true;
  };
  if (symbol("==") || symbol("<>")) {
    return Error(start, "unsupported comparator '" + std::string(text_.substr(start, 2)) + "'; use = or !=");
  }
  if (symbol("!=")) return Comparator::kNotEqual;
  if (symbol("<=")) return Comparator::kLessEqual;
  if (symbol(">=")) return Comparator::kGreaterEqual;
  if (symbol("=")) return Comparator::kEqual;
  if (symbol("<")) return Comparator::kLess;
  if (symbol(">")) return Comparator::kGreater;
  if (ConsumeKeyword("LIKE")) return Comparator::kLike;
  if (ConsumeKeyword("ILIKE")) return Comparator::kILike;
  if (ConsumeKeyword("IN")) return Comparator::kIn;
  if (ConsumeKeyword("NOT")) {
    SkipSpace();
    if (ConsumeKeyword("IN")) return Comparator::kNotIn;
    return Error(pos_, "expected IN after NOT (NOT is only supported as NOT IN)");
  }
  if (ConsumeKeyword("IS")) {
    SkipSpace();
    bool negated = ConsumeKeyword("NOT");
    SkipSpace();
    if (ConsumeKeyword("NULL")) return negated ? Comparator::kIsNotNull : Comparator::kIsNull;
    return Error(pos_, negated ? "expected NULL after IS NOT" : "expected NULL or NOT NULL after IS");
  }
  return Error(start,
               "expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN) "
               "after '" +
                   std::string(after) + "'");
}

Result<FilterValue> Parser::ParseValue(Comparator comparator) {
  if (comparator == Comparator::kIsNull || comparator == Comparator::kIsNotNull) {
    return FilterValue{};
  }
  if (comparator == Comparator::kIn || comparator == Comparator::kNotIn) {
    return ParseList(comparator);
  }
  std::string after = "after '" + std::string(ComparatorText(comparator)) + "'";
  if (AtEnd()) return Error(pos_, "expected a value " + after);
  char c = Peek();
  if (c == '\'' || c == '"') {
    FilterValue value;
    value.type = FilterValue::Type::kString;
    KILN_ASSIGN_OR_RETURN(value.text, ParseQuoted());
    return value;
  }
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
    return ParseNumber();
  }
  if (c == '(') return Error(pos_, "a parenthesised list is only allowed after IN or NOT IN");
  if (IsWordChar(c)) {
    size_t start = pos_;
    while (!AtEnd() && IsWordChar(Peek())) ++pos_;
    std::string word(text_.substr(start, pos_ - start));
    return Error(start, "expected a quoted string or a number " + after + ", got " + word +
                            " (quote string values: '" + word + "')");
  }
  return Error(pos_, "expected a value " + after);
}

Result<FilterValue> Parser::ParseList(Comparator comparator) {
  if (Peek() != '(') {
    return Error(pos_, "expected a parenthesised list of quoted strings after '" +
                           std::string(ComparatorText(comparator)) + "'");
  }
  ++pos_;
  FilterValue value;
  value.type = FilterValue::Type::kList;
  SkipSpace();
  if (Peek() == ')') return Error(pos_, "expected a non-empty list of quoted strings");
  while (true) {
    SkipSpace();
    if (Peek() != '\'' && Peek() != '"') {
      return Error(pos_, "expected a quoted string in the list");
    }
    KILN_ASSIGN_OR_RETURN(std::string item, ParseQuoted());
    value.list.push_back(std::move(item));
    SkipSpace();
    if (Peek() == ')') {
      ++pos_;
      return value;
    }
    if (Peek() != ',') return Error(pos_, "expected ',' or ')' in the list");
    ++pos_;
  }
}

Result<FilterValue> Parser::ParseNumber() {
  size_t start = pos_;
  auto digits = [this]() {
    size_t from = pos_;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    return pos_ - from;
  };
  if (Peek() == '-' || Peek() == '+') ++pos_;
  size_t whole = digits();
  bool integral = true;
  size_t fraction = 0;
  if (Peek() == '.') {
    ++pos_;
    integral = false;
    fraction = digits();
  }
  bool malformed = whole + fraction == 0;
  if (!malformed && (Peek() == 'e' || Peek() == 'E')) {
    ++pos_;
    integral = false;
    if (Peek() == '-' || Peek() == '+') ++pos_;
    malformed = digits() == 0;
  }
  if (malformed || IsWordChar(Peek()) || Peek() == '.') {
    while (!AtEnd() && (IsWordChar(Peek()) || Peek() == '.')) ++pos_;
    return Error(start, "malformed number '" + std::string(text_.substr(start, pos_ - start)) + "'");
  }
  FilterValue value;
  value.type = FilterValue::Type::kNumber;
  value.text = std::string(text_.substr(start, pos_ - start));
  // from_chars takes no leading '+'.
  std::string_view digits_text = value.text;
  if (digits_text.front() == '+') digits_text.remove_prefix(1);
  const char* first = digits_text.data();
  const char* last = first + digits_text.size();
  auto parsed = std::from_chars(first, last, value.number);
  if (parsed.ec == std::errc::result_out_of_range) {
    value.number = digits_text.front() == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (integral) {
    int64_t integer = 0;
    if (std::from_chars(first, last, integer).ec == std::errc()) value.integer = integer;
  }
  return value;
}

Result<FilterTerm> Parser::Resolve(const RawIdentifier& identifier, bool for_order_by) {
  FilterTerm term;
  term.position = identifier.start;
  term.key = identifier.key;
  if (identifier.prefix) {
    std::optional<FilterKind> kind = KindOfPrefix(entity_, *identifier.prefix);
    if (!kind) {
      return Error(identifier.start, "unknown entity type '" + *identifier.prefix + "'; expected " +
                                         std::string(PrefixNames(entity_)));
    }
    term.kind = *kind;
  }
  if (for_order_by && term.kind != FilterKind::kAttribute &&
      (entity_ != SearchEntity::kRuns || term.kind == FilterKind::kDataset)) {
    return Error(identifier.start,
                 "cannot order by '" + *identifier.prefix + ".'; expected " +
                     (entity_ == SearchEntity::kRuns ? "metrics.<key>, params.<key>, tags.<key> or "
                                                       "an attribute (" +
                                                           AttributeNames(entity_, true) + ")"
                                                     : "one of " + AttributeNames(entity_, true)));
  }
  if (term.kind == FilterKind::kAttribute) {
    const AttributeSpec* spec = FindAttribute(entity_, identifier.key);
    if (spec == nullptr || !(for_order_by ? spec->orderable : spec->filterable)) {
      return Error(identifier.key_start, "unknown attribute '" + identifier.key + "'; expected one of " +
                                             AttributeNames(entity_, for_order_by));
    }
    term.key = std::string(spec->canonical);
  } else if (term.kind == FilterKind::kDataset) {
    bool known = false;
    for (std::string_view key : kDatasetKeys) known = known || key == identifier.key;
    if (!known) {
      return Error(identifier.key_start,
                   "unknown dataset field '" + identifier.key + "'; expected name, digest or context");
    }
  }
  return term;
}

Status Parser::CheckComparison(const FilterTerm& term, const AttributeSpec* attribute,
                               size_t comparator_position, size_t value_position) {
  std::string subject;
  bool numeric = false;
  bool integer_only = false;
  Comparators allowed = kStringComparators;
  bool allows_in = false;
  bool allows_not_in = false;
  switch (term.kind) {
    case FilterKind::kMetric:
      subject = "metric '" + term.key + "'";
      numeric = true;
      allowed = kNumericComparators;
      break;
    case FilterKind::kParam:
      subject = "param '" + term.key + "'";
      break;
    case FilterKind::kTag:
      subject = "tag '" + term.key + "'";
      break;
    case FilterKind::kDataset:
      subject = "dataset " + term.key;
      allows_in = allows_not_in = true;
      break;
    case FilterKind::kAttribute:
      subject = "attribute '" + term.key + "'";
      numeric = integer_only = attribute->type == AttributeType::kInteger;
      if (numeric) allowed = kNumericComparators;
      allows_in = attribute->allows_in;
      allows_not_in = attribute->allows_not_in;
      break;
  }
  bool comparator_ok = Contains(allowed, term.comparator) ||
                       (term.comparator == Comparator::kIn && allows_in) ||
                       (term.comparator == Comparator::kNotIn && allows_not_in);
  if (!comparator_ok) {
    std::vector<Comparator> expected(allowed);
    if (allows_in) expected.push_back(Comparator::kIn);
    if (allows_not_in) expected.push_back(Comparator::kNotIn);
    return Error(comparator_position, "comparator '" + std::string(ComparatorText(term.comparator)) +
                                          "' is not supported for " + subject + "; expected " +
                                          JoinComparators(expected));
  }
  const FilterValue& value = term.value;
  if (value.type == FilterValue::Type::kList) return Status::Ok();
  if (numeric) {
    if (value.type != FilterValue::Type::kNumber) {
      return Error(value_position,
                   "expected a number to compare " + subject + " with, got '" + value.text + "'");
    }
    if (integer_only && !value.integer) {
      return Error(value_position, "expected an integer to compare " + subject + " with, got " + value.text);
    }
    return Status::Ok();
  }
  if (value.type != FilterValue::Type::kString) {
    return Error(value_position, "expected a quoted string to compare " + subject + " with, got " +
                                     value.text + " (quote it: '" + value.text + "')");
  }
  if (term.comparator == Comparator::kLike || term.comparator == Comparator::kILike) {
    size_t backslashes = 0;
    for (auto it = value.text.rbegin(); it != value.text.rend() && *it == '\\'; ++it) ++backslashes;
    if (backslashes % 2 == 1) {
      return Error(value_position, "the LIKE pattern ends with an unfinished escape '\\'");
    }
  }
  return Status::Ok();
}

Result<OrderTerm> Parser::ParseOrderClause() {
  SkipSpace();
  if (AtEnd()) return Error(pos_, "expected an identifier such as " + std::string(IdentifierHint(entity_)));
  KILN_ASSIGN_OR_RETURN(RawIdentifier identifier, ParseIdentifier());
  KILN_ASSIGN_OR_RETURN(FilterTerm resolved, Resolve(identifier, /*for_order_by=*/true));
  OrderTerm term{resolved.kind, std::move(resolved.key), true};
  SkipSpace();
  if (AtEnd()) return term;
  if (ConsumeKeyword("DESC")) {
    term.ascending = false;
  } else if (!ConsumeKeyword("ASC")) {
    return Error(pos_, "expected ASC or DESC after '" + std::string(identifier.text) + "'");
  }
  SkipSpace();
  if (!AtEnd()) return Error(pos_, "expected the end of the clause after ASC or DESC");
  return term;
}

}  // namespace

std::string_view ComparatorText(Comparator comparator) {
  switch (comparator) {
    case Comparator::kEqual:
      return "=";
    case Comparator::kNotEqual:
      return "!=";
    case Comparator::kLess:
      return "<";
    case Comparator::kLessEqual:
      return "<=";
    case Comparator::kGreater:
      return ">";
    case Comparator::kGreaterEqual:
      return ">=";
    case Comparator::kLike:
      return "LIKE";
    case Comparator::kILike:
      return "ILIKE";
    case Comparator::kIn:
      return "IN";
    case Comparator::kNotIn:
      return "NOT IN";
    case Comparator::kIsNull:
      return "IS NULL";
    case Comparator::kIsNotNull:
      return "IS NOT NULL";
  }
  return "?";
}

Result<std::vector<FilterTerm>> ParseSearchFilter(std::string_view filter, SearchEntity entity) {
  return Parser(filter, "filter", entity).ParseFilter();
}

Result<OrderTerm> ParseOrderBy(std::string_view clause, SearchEntity entity) {
  return Parser(clause, "order_by clause", entity).ParseOrderClause();
}

}  // namespace kiln::tracking
