// ses_asn1.h (private) — the GB/T 38540-2020 ASN.1 module (v4 seal and signature) as OpenSSL
// ASN1 templates (ASN1_SEQUENCE macros): OpenSSL does the DER encoding and decoding, nothing here
// is hand-rolled. SES_SealInfo, SESeal and TBS_Sign use ASN1_SEQUENCE_enc, so a parsed structure
// keeps (and re-encodes to) exactly the bytes that were signed — a verifier must hash the
// signer's bytes, not a re-encoding of them.
#pragma once

#include <openssl/asn1.h>
#include <openssl/asn1t.h>

extern "C" {

// Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER, Vid IA5String }
typedef struct {
  ASN1_IA5STRING* id;
  ASN1_INTEGER* version;
  ASN1_IA5STRING* vid;
} LC_SES_Header;
DECLARE_ASN1_FUNCTIONS(LC_SES_Header)

// SES_ESPropertyInfo (v4). certList is SES_CertList ::= CHOICE { certs CertInfoList,
// certDigestList CertDigestList }: both alternatives are SEQUENCE OF without tags, so which one
// is present is told by certListType; the template keeps it as ANY and ses.cpp decodes it with
// LC_SES_CertInfoList or LC_SES_CertDigestList.
typedef struct {
  ASN1_INTEGER* type;
  ASN1_UTF8STRING* name;
  ASN1_INTEGER* cert_list_type;
  ASN1_TYPE* cert_list;
  ASN1_GENERALIZEDTIME* create_date;
  ASN1_GENERALIZEDTIME* valid_start;
  ASN1_GENERALIZEDTIME* valid_end;
} LC_SES_ESPropertyInfo;
DECLARE_ASN1_FUNCTIONS(LC_SES_ESPropertyInfo)

// CertInfoList ::= SEQUENCE OF OCTET STRING (each a DER certificate)
DEFINE_STACK_OF(ASN1_OCTET_STRING)
typedef STACK_OF(ASN1_OCTET_STRING) LC_SES_CertInfoList;
DECLARE_ASN1_FUNCTIONS(LC_SES_CertInfoList)

// CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }
typedef struct {
  ASN1_PRINTABLESTRING* type;
  ASN1_OCTET_STRING* value;
} LC_SES_CertDigestObj;
DECLARE_ASN1_FUNCTIONS(LC_SES_CertDigestObj)
DEFINE_STACK_OF(LC_SES_CertDigestObj)
typedef STACK_OF(LC_SES_CertDigestObj) LC_SES_CertDigestList;
DECLARE_ASN1_FUNCTIONS(LC_SES_CertDigestList)

// SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER,
//                                  height INTEGER }  (sic: "Pictrue" in the standard)
typedef struct {
  ASN1_IA5STRING* type;
  ASN1_OCTET_STRING* data;
  ASN1_INTEGER* width;
  ASN1_INTEGER* height;
} LC_SES_ESPictrueInfo;
DECLARE_ASN1_FUNCTIONS(LC_SES_ESPictrueInfo)

// SES_SealInfo ::= SEQUENCE { header, esID IA5String, property, picture,
//                             extDatas ExtensionDatas OPTIONAL }  (extDatas kept as ANY)
typedef struct {
  LC_SES_Header* header;
  ASN1_IA5STRING* es_id;
  LC_SES_ESPropertyInfo* property;
  LC_SES_ESPictrueInfo* picture;
  ASN1_TYPE* ext_datas;
  ASN1_ENCODING enc;
} LC_SES_SealInfo;
DECLARE_ASN1_FUNCTIONS(LC_SES_SealInfo)

// SESeal ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING, signAlgID OID,
//                       signedValue BIT STRING }
typedef struct {
  LC_SES_SealInfo* seal_info;
  ASN1_OCTET_STRING* cert;
  ASN1_OBJECT* sign_alg;
  ASN1_BIT_STRING* signed_value;
  ASN1_ENCODING enc;
} LC_SESeal;
DECLARE_ASN1_FUNCTIONS(LC_SESeal)

// TBS_Sign ::= SEQUENCE { version INTEGER, eseal SESeal, timeInfo GeneralizedTime,
//                         dataHash BIT STRING, propertyInfo IA5String,
//                         extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }
typedef struct {
  ASN1_INTEGER* version;
  LC_SESeal* eseal;
  ASN1_GENERALIZEDTIME* time_info;
  ASN1_BIT_STRING* data_hash;
  ASN1_IA5STRING* property_info;
  ASN1_TYPE* ext_datas;
  ASN1_ENCODING enc;
} LC_TBS_Sign;
DECLARE_ASN1_FUNCTIONS(LC_TBS_Sign)

// SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING, signatureAlgID OID,
//                              signature BIT STRING, timeStamp [0] EXPLICIT BIT STRING OPTIONAL }
typedef struct {
  LC_TBS_Sign* to_sign;
  ASN1_OCTET_STRING* cert;
  ASN1_OBJECT* sign_alg;
  ASN1_BIT_STRING* signature;
  ASN1_BIT_STRING* time_stamp;
} LC_SES_Signature;
DECLARE_ASN1_FUNCTIONS(LC_SES_Signature)

}  // extern "C"
