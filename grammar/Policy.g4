// The polc policy language. See docs/language.md for the semantics.
grammar Policy;

file        : item* EOF ;
item        : letDecl | policyDecl ;

letDecl     : LET name=IDENT '=' selector ;
policyDecl  : POLICY name=STRING '{' selectClause directionBlock* '}' ;
selectClause: SELECT selector ;
directionBlock
            : direction=(INGRESS | EGRESS) '{' ruleDecl* '}' ;
ruleDecl    : verdict=(ALLOW | DENY) peerDirection=(FROM | TO) peer portList? ;
peer        : selector ;
portList    : ON portSpec (',' portSpec)* ;
portSpec    : PORT_SPEC ;

// Alternatives are listed from the tightest binding to the loosest.
selector    : '!' selector                                      # notSelector
            | selector '&&' selector                            # andSelector
            | selector '||' selector                            # orSelector
            | '(' selector ')'                                  # parenSelector
            | ANY                                               # anySelector
            | HAS '(' labelKey ')'                              # hasSelector
            | labelKey op=('==' | '!=') STRING                  # compareSelector
            | labelKey op=(IN | NOTIN) '(' STRING (',' STRING)* ')' # setSelector
            | IDENT                                             # letReference
            ;
labelKey    : IDENT | PORT_SPEC ;

LET     : 'let' ;
POLICY  : 'policy' ;
SELECT  : 'select' ;
INGRESS : 'ingress' ;
EGRESS  : 'egress' ;
ALLOW   : 'allow' ;
DENY    : 'deny' ;
FROM    : 'from' ;
TO      : 'to' ;
ON      : 'on' ;
ANY     : 'any' ;
HAS     : 'has' ;
IN      : 'in' ;
NOTIN   : 'notin' ;

// tcp/80, udp/53, sctp/9, tcp/8000-8999. Listed before IDENT so that the
// same text is a port, not a label key.
PORT_SPEC : ('tcp' | 'udp' | 'sctp') '/' [0-9]+ ('-' [0-9]+)? ;

// Label keys and let names; Kubernetes-style keys contain '.', '/' and '-'.
IDENT   : [a-zA-Z_] [a-zA-Z0-9_.\-/]* ;
STRING  : '"' (~["\\\r\n] | '\\' ["\\])* '"' ;

LINE_COMMENT : ('#' | '//') ~[\r\n]* -> skip ;
WS      : [ \t\r\n]+ -> skip ;
// Anything else is one bad character; the parser reports it with its position.
BAD_CHAR: . ;
